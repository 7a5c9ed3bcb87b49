/**
 * `poster-studio classifier train|evaluate|compare`: the genre classifier from the command line.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { subcommand } from '../program.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { UserError } from '../../src/core/errors.js';
import { checkYearRange, resolveGenreSet, type SplitName } from '../../src/core/dataset/index.js';
import { checkFile, writeOwnedFile } from '../../src/core/fs/ownership.js';
import { formatSkipped } from '../../src/core/skipped.js';
import { DEFAULT_CSV, DEFAULT_MODELS, DEFAULT_POSTERS } from '../../src/core/paths.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { loadClassifierData } from '../../classifier/data.js';
import { writeEvaluation, type Evaluation } from '../../src/artifacts/classifier-evaluation.js';
import { evaluateOn, formatEvaluation } from '../../classifier/evaluate.js';
import { fitExtras, formatExtras } from '../../classifier/extras.js';
import { VERSIONS, VERSION_NOTES, type Version } from '../../classifier/models.js';
import {
  allClassifiers,
  loadClassifier,
  METADATA_FILE,
  newestClassifier,
  saveClassifier,
  saveMetadata,
  TTA_MODES,
  type Tta,
} from '../../src/artifacts/classifier-model.js';
import { formatTestMovies, pickTestMovies, testMoviePredictions } from '../../classifier/seed-report.js';
import { trainClassifier } from '../../classifier/train.js';

const dataFlags = defineFlags({
  csv: { kind: 'path', default: DEFAULT_CSV, exists: 'file', help: 'MovieGenre.csv (ISO-8859-1 or UTF-8)' },
  data: { kind: 'path', default: DEFAULT_POSTERS, exists: 'dir', help: 'poster directory (<imdbId>.jpg)' },
  limit: {
    kind: 'int',
    min: 10,
    arg: 'n',
    help: 'use only the first n eligible movies (CSV order) before the split: quick runs',
  },
});

const trainFlags = defineFlags({
  ...backendFlags,
  ...dataFlags,
  genres: { kind: 'string', default: '7', arg: 'set', help: 'genre set: 3, 7, 14 or a comma-separated list' },
  ratio: {
    kind: 'int',
    default: 60,
    min: 10,
    max: 100,
    arg: 'pct',
    help: 'input size as a percentage of 182x268 (the seed used 30-70)',
  },
  version: {
    kind: 'int',
    default: 1,
    min: 1,
    max: VERSIONS.length,
    arg: 'v',
    help: VERSIONS.map((v) => `${v} = ${VERSION_NOTES[v]}`).join('; '),
  },
  epochs: { kind: 'int', default: 50, min: 1, max: 10000, help: 'training epochs' },
  min_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'keep movies from this year on' },
  max_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'keep movies up to this year' },
  batch: { kind: 'int', default: 32, min: 1, max: 4096, help: 'batch size' },
  lr: { kind: 'float', default: 0.0005, min: 0, max: 1, help: 'Adam learning rate' },
  seed: {
    kind: 'int',
    default: 1,
    min: 1,
    max: 2 ** 31 - 1,
    help: 'seed for weights, batch order, dropout and augmentation',
  },
  models: { kind: 'path', default: DEFAULT_MODELS, help: 'where models/<name> is written' },
  name: {
    kind: 'string',
    arg: 'name',
    help: 'model directory name (default: built from the params, e.g. genres-7_ratio-60_v1_1977-any)',
  },
  resume: { kind: 'bool', default: false, help: 'continue from the last checkpoint of models/<name>' },
  extras: { kind: 'bool', default: true, help: 'also fit the decade and IMDB-score heads on the trained features' },
  tta: {
    kind: 'string',
    default: 'none',
    choices: [...TTA_MODES],
    help: "test-time augmentation saved with the model: 'flip' averages every genre score with the mirrored poster's (validation scoring and thresholds use it too)",
  },
});

const evaluateFlags = defineFlags({
  ...backendFlags,
  csv: { kind: 'path', exists: 'file', help: 'MovieGenre.csv (default: the one the model was trained on)' },
  data: { kind: 'path', exists: 'dir', help: "poster directory (default: the model's)" },
  model: { kind: 'path', exists: 'dir', help: 'model directory (default: the newest under --models)' },
  models: { kind: 'path', default: DEFAULT_MODELS, help: 'where to look for the newest model' },
  all: {
    kind: 'bool',
    default: false,
    help: "every model under --models, one after another, each with its test movies' predictions (the seed's tests.py)",
  },
  split: {
    kind: 'string',
    default: 'test',
    choices: ['validation', 'test'],
    help: 'which split to evaluate on (thresholds come from validation)',
  },
  json: {
    kind: 'path',
    help: 'also write the evaluation JSON here (it always goes to <model>/evaluation-<split>.json)',
  },
  tta: {
    kind: 'string',
    choices: [...TTA_MODES],
    help: "score with this test-time augmentation instead of the model's own ('flip': mean with the mirrored poster)",
  },
  retune: {
    kind: 'bool',
    default: false,
    help: "with --split validation: tune the thresholds on these scores and save them, with --tta, in the model's metadata.json (weights untouched)",
  },
});

const compareFlags = defineFlags({
  ...trainFlags,
  versions: {
    kind: 'list',
    default: ['1', '2', '3', '4'],
    help: 'model versions to train and compare on the same split and budget',
  },
  epochs: { kind: 'int', default: 5, min: 1, max: 10000, help: 'training epochs for every version (the same budget)' },
  ratio: { kind: 'int', default: 30, min: 10, max: 100, arg: 'pct', help: 'input size as a percentage of 182x268' },
  split: {
    kind: 'string',
    default: 'validation',
    choices: ['validation', 'test'],
    help: 'split the versions are compared on',
  },
  output: { kind: 'path', help: 'write the comparison JSON here (default: <models>/compare-<genres>_ratio-<r>.json)' },
});

type TrainValues = ReturnType<typeof readFlags<typeof trainFlags>>;

async function runTrain(o: TrainValues, version: Version, backend: string, epochs = o.epochs) {
  checkYearRange(o.min_year, o.max_year);
  const genres = resolveGenreSet(o.genres);
  const data = await loadClassifierData({
    csv: o.csv,
    data: o.data,
    genres,
    ratio: o.ratio,
    minYear: o.min_year,
    maxYear: o.max_year,
    limit: o.limit,
    splits: ['train', 'validation'],
  });
  const r = await trainClassifier(
    {
      version,
      epochs,
      batch: o.batch,
      lr: o.lr,
      seed: o.seed,
      ratio: o.ratio,
      genresSpec: o.genres,
      minYear: o.min_year,
      maxYear: o.max_year,
      csv: o.csv,
      data: o.data,
      models: o.models,
      name: o.name,
      resume: o.resume,
      limit: o.limit,
      tta: o.tta as Tta,
      backend,
    },
    data,
  );
  if (o.extras && r.meta.complete) {
    const extras = await fitExtras(r.model, data, r.meta.input);
    process.stderr.write(formatExtras(extras) + '\n');
    r.meta.extras = extras as unknown as Record<string, unknown>;
    await saveClassifier(r.model, r.dir, r.meta);
  }
  return r;
}

function configureTrain(cmd: Command): Command {
  return addFlags(cmd, trainFlags).action(async () => {
    const o = readFlags(cmd, trainFlags);
    const backend = await initBackend(o.backend);
    const r = await runTrain(o, o.version as Version, backend);
    const v = r.meta.validation;
    process.stdout.write(
      `${r.dir}: best epoch ${r.meta.bestEpoch}/${r.meta.epoch}` +
        (v
          ? `, validation micro-AUC ${v.microAuc.toFixed(3)}, macro-AUC ${v.macroAuc.toFixed(3)}, mAP ${v.mAP.toFixed(3)}, top-1 ${(100 * v.top1).toFixed(1)}%`
          : '') +
        `, ${r.meta.imagesPerSecond.toFixed(1)} train images/s on ${backend}` +
        (r.meta.complete ? '' : ` (stopped before epoch ${r.meta.params.epochs}; --resume continues)`) +
        '\n',
    );
  });
}

type EvaluateValues = ReturnType<typeof readFlags<typeof evaluateFlags>>;

async function evaluateModel(dir: string, o: EvaluateValues, withTestMovies: boolean): Promise<Evaluation> {
  // Refused before any work: the metadata.json --retune would replace must be ours.
  if (o.retune) await checkFile(path.join(dir, METADATA_FILE), '--retune');
  const c = await loadClassifier(dir);
  const csv = o.csv ?? c.meta.dataset.csv;
  const posters = o.data ?? c.meta.dataset.data;
  if (!existsSync(csv)) throw new UserError(`${csv}: the model's CSV is not there; pass --csv`);
  if (!existsSync(posters)) throw new UserError(`${posters}: the model's poster directory is not there; pass --data`);
  const p = c.meta.params as { ratio: number; minYear: number | null; maxYear: number | null; limit: number | null };
  const split = o.split as SplitName;
  const data = await loadClassifierData({
    csv,
    data: posters,
    genres: c.genres,
    ratio: p.ratio,
    minYear: p.minYear ?? undefined,
    maxYear: p.maxYear ?? undefined,
    limit: p.limit ?? undefined,
    splits: [split],
  });
  for (const l of formatSkipped(data.skipped, 'classifier evaluate: posters that cannot be decoded are left out', null))
    process.stderr.write(l + '\n');
  if (data.fingerprint !== c.meta.dataset.fingerprint)
    process.stderr.write(
      `note: the data differ from what ${dir} was trained on (fingerprint ${data.fingerprint}, model ${c.meta.dataset.fingerprint})\n`,
    );
  if (o.retune && data.fingerprint !== c.meta.dataset.fingerprint)
    throw new UserError(
      `--retune: the data differ from what ${dir} was trained on, so their validation split may hold its training posters; pass the --csv/--data it was trained on`,
    );
  const examples = data.splits[split]!;
  const tta = (o.tta as Tta | undefined) ?? c.tta;
  const e = await evaluateOn(c, examples, split, { tta, retune: o.retune });
  if (o.retune) {
    // Only metadata.json changes: the weights (and the feature network's hash) stay byte-identical.
    await saveMetadata(dir, {
      ...c.meta,
      thresholds: c.genres.map((g) => e.model_metrics.perGenre[g]!.threshold),
      tta,
      validation: e.model_metrics,
      savedAt: new Date().toISOString(),
    });
    process.stderr.write(`retuned the thresholds of ${dir} on ${e.count} validation posters (tta ${tta})\n`);
  }
  const file = await writeEvaluation(dir, e);
  process.stdout.write(formatEvaluation(e));
  if (withTestMovies) {
    process.stdout.write(`\npredictions ([o] a genre of the movie, [!] not one of its genres):\n`);
    process.stdout.write(formatTestMovies(await testMoviePredictions(c, pickTestMovies(examples)), c));
  }
  process.stderr.write(`wrote ${file}\n`);
  return e;
}

function configureEvaluate(cmd: Command): Command {
  return addFlags(cmd, evaluateFlags).action(async () => {
    const o = readFlags(cmd, evaluateFlags);
    if (o.all && o.model) throw new UserError('--all evaluates every model under --models; drop --model (or --all)');
    if (o.retune && o.split !== 'validation')
      throw new UserError(
        `--retune tunes thresholds on the validation split, never on ${o.split}: add --split validation`,
      );
    if (o.retune && o.all) throw new UserError('--retune rewrites one model: give --model <dir>, not --all');
    const dirs = o.all
      ? await allClassifiers(o.models)
      : [o.model ?? (await newestClassifier(o.models))].filter((d): d is string => !!d);
    if (!dirs.length)
      throw new UserError(
        `no trained classifier in ${o.models}; train one with 'poster-studio classifier train' or pass --model <dir>`,
      );
    await initBackend(o.backend);
    const results: { dir: string; e: Evaluation }[] = [];
    for (const dir of dirs) {
      if (o.all) process.stdout.write(`${results.length ? '\n' : ''}=== ${dir}\n`);
      results.push({ dir, e: await evaluateModel(dir, o, o.all) });
    }
    if (o.json) {
      await fs.mkdir(path.dirname(path.resolve(o.json)), { recursive: true });
      await writeOwnedFile(
        o.json,
        JSON.stringify(o.all ? results.map((r) => r.e) : results[0]!.e, null, 2) + '\n',
        '--json',
      );
      process.stderr.write(`wrote ${o.json}\n`);
    }
    if (results.length > 1) {
      const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
      const pc = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-');
      const rows = [['model', 'posters', 'micro-AUC', 'macro-AUC', 'mAP', 'top-1', 'seed accuracy']];
      for (const { dir, e } of results) {
        const m = e.model_metrics;
        rows.push([
          path.basename(dir),
          String(e.count),
          f(m.microAuc),
          f(m.macroAuc),
          f(m.mAP),
          pc(m.top1),
          pc(e.seedAccuracy?.value ?? NaN),
        ]);
      }
      const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
      process.stdout.write(
        `\nall models, ${o.split} split:\n` +
          rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ')).join('\n') +
          '\n',
      );
    }
  });
}

function configureCompare(cmd: Command): Command {
  return addFlags(cmd, compareFlags).action(async () => {
    const o = readFlags(cmd, compareFlags);
    const versions = o.versions.map((v) => {
      const n = Number(v);
      if (!VERSIONS.includes(n as Version))
        throw new UserError(`--versions: '${v}' is not a model version; valid: ${VERSIONS.join(', ')}`);
      return n as Version;
    });
    if (o.name) throw new UserError('--name cannot be used with compare: each version gets its own directory');
    const backend = await initBackend(o.backend);
    const split = o.split as SplitName;
    const rows: { version: Version; dir: string; evaluation: Evaluation; imagesPerSecond: number; params: number }[] =
      [];
    for (const version of versions) {
      process.stderr.write(`compare: training v${version} (${VERSION_NOTES[version]})\n`);
      const r = await runTrain({ ...o, extras: false, resume: true }, version, backend);
      const c = await loadClassifier(r.dir);
      const data = await loadClassifierData({
        csv: o.csv,
        data: o.data,
        genres: c.genres,
        ratio: o.ratio,
        minYear: o.min_year,
        maxYear: o.max_year,
        limit: o.limit,
        splits: [split],
        quiet: true,
      });
      const e = await evaluateOn(c, data.splits[split]!, split);
      await writeEvaluation(r.dir, e);
      rows.push({
        version,
        dir: r.dir,
        evaluation: e,
        imagesPerSecond: r.meta.imagesPerSecond,
        params: c.model.countParams(),
      });
    }
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
    const table = [['version', 'params', 'micro-AUC', 'macro-AUC', 'mAP', 'macro-F1', 'top-1', 'img/s']];
    for (const r of rows) {
      const m = r.evaluation.model_metrics;
      table.push([
        `v${r.version}`,
        String(r.params),
        f(m.microAuc),
        f(m.macroAuc),
        f(m.mAP),
        f(m.macroF1),
        `${(100 * m.top1).toFixed(1)}%`,
        r.imagesPerSecond.toFixed(1),
      ]);
    }
    const p = rows[0]?.evaluation.baselines.genrePrior;
    if (p)
      table.push([
        'genre-prior',
        '0',
        f(p.microAuc),
        f(p.macroAuc),
        f(p.mAP),
        f(p.macroF1),
        `${(100 * p.top1).toFixed(1)}%`,
        '',
      ]);
    const w = table[0]!.map((_, j) => Math.max(...table.map((r) => r[j]!.length)));
    process.stdout.write(
      `${o.epochs} epochs each, ratio ${o.ratio}, seed ${o.seed}, ${split} split (${rows[0]?.evaluation.count ?? 0} posters), backend ${backend}\n\n` +
        table.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ')).join('\n') +
        '\n',
    );
    const out = o.output ?? path.join(o.models, `compare-${o.genres.replace(/,/g, '+')}_ratio-${o.ratio}.json`);
    await writeOwnedFile(
      out,
      JSON.stringify(
        {
          split,
          epochs: o.epochs,
          ratio: o.ratio,
          seed: o.seed,
          backend,
          versions: rows.map((r) => ({
            version: r.version,
            dir: r.dir,
            params: r.params,
            imagesPerSecond: r.imagesPerSecond,
            ...r.evaluation,
          })),
        },
        null,
        2,
      ) + '\n',
      '--output',
    );
    process.stderr.write(`wrote ${out}\n`);
  });
}

export function configureClassifier(cmd: Command): Command {
  configureTrain(
    subcommand(cmd, 'train', 'train a genre classifier on the seed split (checkpoint each epoch; --resume continues)'),
  );
  configureEvaluate(
    subcommand(
      cmd,
      'evaluate',
      'per-genre precision/recall/F1/AUC, micro/macro AUC, mAP, hamming loss, top-1, with baselines',
    ),
  );
  configureCompare(
    subcommand(cmd, 'compare', 'train the model versions on the same split and budget and compare them'),
  );
  return cmd;
}
