/**
 * `classify <image|dir>...`: genre scores per poster in the seed's style. Directories of DCGAN
 * sample grids (a grid sidecar present, or --grid) go to the samples scorer, which cuts the
 * grids into posters; everything else is scored file by file.
 */
import type { Command } from 'commander';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { UserError } from '../../src/core/errors.js';
import { indexPosters, readMovieCsv, type Movie } from '../../src/core/dataset/index.js';
import { checkFile, writeOwnedFile } from '../../src/core/fs/ownership.js';
import { DEFAULT_CSV, DEFAULT_POSTERS } from '../../src/core/paths.js';
import { createProgress } from '../../src/core/progress.js';
import { formatSkipped, type SkippedItem } from '../../src/core/skipped.js';
import { classifySamples, looksLikeSamples } from '../../src/features/scoring/index.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import {
  extraHeads,
  findMovie,
  formatExtrasOf,
  formatPrediction,
  listImages,
  predictFiles,
  predictionsCsv,
  predictionsJson,
  titleWidth,
} from '../../classifier/predict.js';
import { loadClassifier, newestClassifier, readMetadata } from '../../src/artifacts/classifier-model.js';
import { chooseModel } from '../../src/artifacts/default-models.js';

export const classifyFlags = defineFlags({
  ...backendFlags,
  model: {
    kind: 'path',
    exists: 'dir',
    help: 'model directory (default: the shipped classifier, models/default/classifier, unless --models is given)',
  },
  models: {
    kind: 'path',
    help: "use the newest model under this folder (the seed's way, e.g. --models models); without it or --model, the shipped classifier",
  },
  truth_csv: {
    kind: 'path',
    default: DEFAULT_CSV,
    help: 'MovieGenre.csv for titles and true genres of files named <imdbId>.jpg (used when it exists), and for --movie',
  },
  movie: {
    kind: 'string',
    arg: 'title|imdbId',
    help: "score this movie's poster: a title ('The Matrix', or 'The Matrix (1999)' when several share it) or an imdbId",
  },
  data: { kind: 'path', default: DEFAULT_POSTERS, help: 'poster directory (<imdbId>.jpg) where --movie looks' },
  json: { kind: 'path', help: 'write [{"file", "title", "scores": {genre: score}}] to this file' },
  csv: { kind: 'path', help: 'write the same as a CSV table to this file' },
  top: {
    kind: 'int',
    default: 3,
    min: 0,
    max: 100,
    help: 'genres shown per poster (plus any over its tuned threshold; 0 = all)',
  },
  grid: {
    kind: 'string',
    arg: 'RxC',
    help: 'treat images in the directories as RxC sample grids (when they have no sidecar)',
  },
});

/**
 * --model, else the newest under --models when it is given, else the shipped classifier. A quick
 * model under ./models (the demo's, a --limit test run) never silently replaces the shipped one:
 * the newest-model lookup of the seed happens only when asked for. Says in one line which default.
 */
async function pickModel(model: string | undefined, models: string | undefined): Promise<string> {
  if (model) return model;
  if (models) {
    const newest = await newestClassifier(models);
    if (!newest)
      throw new UserError(
        `--models: no trained classifier in ${models}; train one with 'poster-studio classifier train --models ${models}', or drop --models to use the shipped classifier`,
      );
    process.stderr.write(`classifier: the newest under ${models}, ${newest}\n`);
    return newest;
  }
  const choice = chooseModel('classifier', undefined, '--model');
  if (choice.dir === null)
    throw new UserError(`${choice.missing}; train one with 'poster-studio classifier train' or pass --model <dir>`);
  const meta = await readMetadata(choice.dir);
  process.stderr.write(
    `classifier: ${choice.source}, ${meta.name} (${choice.dir}${meta.tta === 'flip' ? '; genre scores averaged with the mirrored poster' : ''})\n`,
  );
  return choice.dir;
}

export function configureClassify(cmd: Command): Command {
  addFlags(cmd, classifyFlags)
    .argument('[inputs...]', 'poster images or directories of them (or of DCGAN sample grids)')
    .action(async (inputs: string[]) => {
      const o = readFlags(cmd, classifyFlags);
      if (!inputs.length && o.movie === undefined)
        throw new UserError('classify needs poster files or directories, or --movie <title|imdbId>');
      const movies = new Map<string, Movie>();
      if (o.movie !== undefined) {
        if (!existsSync(o.truth_csv))
          throw new UserError(`--truth_csv: ${o.truth_csv} does not exist; --movie looks titles up in MovieGenre.csv`);
        const found = findMovie(o.movie, readMovieCsv(o.truth_csv).movies, indexPosters(o.data));
        movies.set(found.file, found.movie);
        inputs = [...inputs, found.file];
      }
      const dir = await pickModel(o.model, o.models);
      const { files, missing } = await listImages(inputs);
      if (missing.length) throw new UserError(`${missing.join(', ')}: no such file or directory`);
      // Refused before any scoring when --json/--csv name someone else's file.
      if (o.json) await checkFile(o.json, '--json');
      if (o.csv) await checkFile(o.csv, '--csv');
      await initBackend(o.backend);
      const c = await loadClassifier(dir);
      if (await looksLikeSamples(inputs, o.grid)) {
        await classifySamples(inputs, {
          score: (imgs) => c.score(imgs),
          model: dir,
          grid: o.grid,
          json: o.json,
          csv: o.csv,
          top: o.top,
        });
        return;
      }
      let byId: Map<number, Movie> | null = null;
      if (existsSync(o.truth_csv)) byId = readMovieCsv(o.truth_csv).byId;
      const progress = createProgress('classify', files.length);
      const skipped: SkippedItem[] = [];
      const preds = await predictFiles(c, files, {
        byId,
        movies,
        onSkip: (file, reason) => {
          skipped.push({ file, reason });
        },
        onProgress: (d) => progress.update(d),
      });
      progress.stop();
      // Scores go to stdout and --json/--csv are single files the user named: no folder of ours
      // to keep a list in, so stderr names ten and counts the rest.
      for (const l of formatSkipped(skipped, 'classify', false)) process.stderr.write(l + '\n');
      const thresholds = Object.fromEntries(c.genres.map((g, j) => [g, c.thresholds[j]!]));
      const heads = extraHeads(c);
      const width = titleWidth(preds);
      for (const p of preds)
        process.stdout.write(
          formatPrediction(p, thresholds, o.top, { titleWidth: width }) + formatExtrasOf(p, heads) + '\n',
        );
      if (!files.length) process.stdout.write(`no images found in ${inputs.join(', ')}\n`);
      const wrote: string[] = [];
      if (o.json) {
        await fs.mkdir(path.dirname(path.resolve(o.json)), { recursive: true });
        await writeOwnedFile(o.json, predictionsJson(preds), '--json');
        wrote.push(o.json);
      }
      if (o.csv) {
        await fs.mkdir(path.dirname(path.resolve(o.csv)), { recursive: true });
        await writeOwnedFile(o.csv, predictionsCsv(preds, c.genres), '--csv');
        wrote.push(o.csv);
      }
      process.stderr.write(
        `scored ${preds.length} poster(s) with ${c.meta.name}${skipped.length ? `, skipped ${skipped.length}` : ''}${wrote.length ? `; wrote ${wrote.join(', ')}` : ''}\n`,
      );
    });
  return cmd;
}
