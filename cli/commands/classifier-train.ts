/**
 * `poster-studio classifier train`: one genre classifier on the seed split, checkpointed each
 * epoch; its flags and training run are also those of `classifier compare`.
 */
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { checkYearRange, resolveGenreSet } from '../../src/core/dataset/index.js';
import { DEFAULT_CSV, DEFAULT_MODELS, DEFAULT_POSTERS } from '../../src/core/paths.js';
import { initBackend, inFp32, PRECISIONS, setPrecision, type Precision } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { loadClassifierData } from '../../classifier/data.js';
import { fitExtras, formatExtras } from '../../classifier/extras.js';
import { VERSIONS, VERSION_NOTES, type Version } from '../../classifier/models.js';
import { saveClassifier, TTA_MODES, type Tta } from '../../src/artifacts/classifier-model.js';
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

export const trainFlags = defineFlags({
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
  precision: {
    kind: 'string',
    choices: PRECISIONS,
    default: 'fp32',
    arg: 'p',
    help: "bf16: training's convolutions and matrix products (dense layers included) on AMX bf16 tiles with fp32 sums, except the first convolution (its 3-channel image keeps the fp32 kernels); weights, Adam and batch norm stay fp32, and validation scoring, thresholds, the year/IMDB heads and classify run in fp32. Recorded in metadata.json; native backend on a CPU with AMX only, refused elsewhere",
  },
});

export type TrainValues = ReturnType<typeof readFlags<typeof trainFlags>>;

export async function runTrain(o: TrainValues, version: Version, backend: string, epochs = o.epochs) {
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
      precision: o.precision as Precision,
      backend,
    },
    data,
  );
  if (o.extras && r.meta.complete) {
    // fp32 features, as classify computes them when it applies these heads.
    const extras = await inFp32(() => fitExtras(r.model, data, r.meta.input));
    process.stderr.write(formatExtras(extras) + '\n');
    r.meta.extras = extras as unknown as Record<string, unknown>;
    await saveClassifier(r.model, r.dir, r.meta);
  }
  return r;
}

export function configureTrain(cmd: Command): Command {
  return addFlags(cmd, trainFlags).action(async () => {
    const o = readFlags(cmd, trainFlags);
    const backend = await initBackend(o.backend);
    setPrecision(o.precision as Precision, backend);
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
