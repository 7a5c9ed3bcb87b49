/**
 * `poster-studio report`: one self-contained HTML page of a training run: grids over time, the
 * video, loss and poster-FID curves, the sample-quality curve of dcgan eval, the latest posters with genre bars, generated vs real
 * genre mix, the classifier's metrics and per-genre saliency maps.
 */
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { displayTitle, readMovieCsv, type Movie } from '../../src/core/dataset/index.js';
import { DEFAULT_CSV, DEFAULT_MODELS, DEFAULT_REPORT, DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { writeReport } from '../../src/features/report/build.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { escapeHtml } from '../../src/core/escape.js';
import { readModelInfo } from '../../src/features/report/inputs.js';
import { defaultRealDir } from '../../src/features/scoring/real.js';
import { newestClassifier, openGenreModel, type GenreModel } from '../../src/artifacts/classifier-model.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';

export const reportFlags = defineFlags({
  samples: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    help: 'output directory of dcgan train (grids, sidecars, losses.csv, kid.csv, classify.json, fid.json, eval.json)',
  },
  models: {
    kind: 'path',
    default: DEFAULT_MODELS,
    help: 'where trained classifiers live; the newest is used unless --model is given',
  },
  model: { kind: 'path', exists: 'dir', help: 'a classifier directory (model.json + metadata.json)' },
  output: { kind: 'path', default: DEFAULT_REPORT, short: '-o', help: 'the HTML file to write' },
  video: {
    kind: 'path',
    exists: 'file',
    help: 'training video (default: <samples>/train.mp4, another *.mp4 there, then ./train.mp4)',
  },
  eval: {
    kind: 'path',
    exists: 'dir',
    help: 'folder of a dcgan eval curve (eval.json) written with --output elsewhere (default: the --samples folder)',
  },
  real: {
    kind: 'path',
    exists: 'dir',
    help: 'real posters for the genre mix and saliency (default: data/dcgan, then data/posters)',
  },
  real_count: { kind: 'int', default: 60, min: 0, max: 100000, help: 'real posters scored for the genre mix' },
  saliency_posters: {
    kind: 'int',
    default: 3,
    min: 0,
    max: 50,
    help: 'real posters shown with per-genre saliency maps (0: none)',
  },
  csv: {
    kind: 'path',
    default: DEFAULT_CSV,
    help: 'MovieGenre.csv for the titles and true genres of real posters (used when it exists)',
  },
  seed: { kind: 'int', default: 1, help: 'which real posters are picked' },
  ...backendFlags,
});

export function configureReport(cmd: Command): Command {
  addFlags(cmd, reportFlags).action(async () => {
    const o = readFlags(cmd, reportFlags);
    const modelDir = o.model ?? (await newestClassifier(o.models));
    let model: GenreModel | null = null;
    let modelNote = `no trained classifier in ${escapeHtml(o.models)}; run <code>poster-studio classifier train</code>`;
    if (modelDir) {
      await initBackend(o.backend);
      try {
        model = await openGenreModel(modelDir);
      } catch (err) {
        modelNote = `the classifier in ${escapeHtml(modelDir)} cannot be loaded (${escapeHtml((err as Error).message)})`;
        process.stderr.write(`warning: ${(err as Error).message}; the report goes on without it\n`);
      }
    }
    let byId: Map<number, Movie> | null = null;
    if (existsSync(o.csv)) {
      try {
        byId = readMovieCsv(o.csv).byId;
      } catch (err) {
        process.stderr.write(
          `warning: ${o.csv} not read (${(err as Error).message}); posters are shown by file name\n`,
        );
      }
    }
    const res = await withLocks([{ path: o.output, kind: 'file' }], 'report', async () =>
      writeReport({
        samplesDir: o.samples,
        output: o.output,
        video: o.video,
        evalDir: o.eval,
        model,
        modelNote,
        modelInfo: modelDir ? await readModelInfo(modelDir) : null,
        realDir: o.real ?? defaultRealDir(),
        realCount: o.real_count,
        saliencyPosters: o.saliency_posters,
        seed: o.seed,
        describe: (file) => {
          const m = /^(\d+)$/.exec(path.basename(file, path.extname(file)));
          const movie = m && byId ? byId.get(Number(m[1])) : undefined;
          return movie ? { title: displayTitle(movie), genres: movie.genres } : null;
        },
        log: (l) => process.stderr.write(l + '\n'),
      }),
    );
    const missing = res.sections.filter((s) => !s.available).map((s) => s.id);
    process.stdout.write(
      `wrote ${res.output} (${(res.bytes / 1e6).toFixed(1)} MB, self-contained)` +
        (missing.length ? `; not available yet: ${missing.join(', ')} (the page says what to run)` : '') +
        '\n',
    );
  });
  return cmd;
}
