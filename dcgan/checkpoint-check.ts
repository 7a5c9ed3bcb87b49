/**
 * A checkpoint's state.json is checked field by field before anything is built from it: a
 * tampered or damaged one (negative or huge offsets, shapes that would allocate gigabytes,
 * missing fields) is refused with one line naming the file and the field, never half-loaded.
 */
import { UserError } from '../src/core/errors.js';
import { ACTIVATIONS, type ModelConfig, conditionDim } from './config.js';
import { networkSize } from './model.js';
import { AUGMENTS, LOSSES } from './recipe.js';

type Obj = Record<string, unknown>;

/** The ranges of the dcgan train flags (a checkpoint cannot hold what the flags refuse). */
const LIMITS = {
  width: [8, 1024],
  height: [8, 1024],
  zDim: [1, 4096],
  gf: [1, 1024],
  df: [1, 1024],
  layersG: [2, 8],
  layersD: [2, 8],
  kH: [1, 15],
  kW: [1, 15],
  rows: [1, 64],
  cols: [1, 64],
  nbrGUpdates: [1, 20],
} as const;

const CHECKPOINT_DAMAGED = 'the checkpoint is damaged (use another ckpt_* directory or train again)';

class Checker {
  constructor(
    readonly file: string,
    readonly damaged = CHECKPOINT_DAMAGED,
  ) {}

  fail(field: string, what: string): never {
    throw new UserError(`${this.file}: "${field}" ${what}; ${this.damaged}`);
  }

  obj(v: unknown, field: string): Obj {
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'is missing or not an object');
    return v as Obj;
  }

  int(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      this.fail(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return v;
  }

  num(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      this.fail(field, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  range(v: unknown, field: string, total: number): { offset: number; length: number } {
    const o = this.obj(v, field);
    const offset = this.int(o.offset, `${field}.offset`, 0, total);
    const length = this.int(o.length, `${field}.length`, 0, total - offset);
    return { offset, length };
  }
}

function checkConfig(c: Checker, raw: unknown): ModelConfig {
  const o = c.obj(raw, 'config');
  const lim = (k: keyof typeof LIMITS) => c.int(o[k], `config.${k}`, LIMITS[k][0], LIMITS[k][1]);
  if (o.channels !== 3) c.fail('config.channels', `must be 3, got ${JSON.stringify(o.channels)}`);
  const act = (k: 'activationG' | 'activationD') => {
    if (!ACTIVATIONS.includes(o[k] as never)) c.fail(`config.${k}`, `must be one of ${ACTIVATIONS.join(', ')}`);
    return o[k] as ModelConfig['activationG'];
  };
  let condition: ModelConfig['condition'] = null;
  if (o.condition !== null) {
    const v = c.obj(o.condition, 'config.condition');
    if (!Array.isArray(v.genres) || v.genres.length > 1000 || v.genres.some((g) => typeof g !== 'string'))
      c.fail('config.condition.genres', 'must be a list of genre names');
    if (!Array.isArray(v.decades) || v.decades.length > 1000 || v.decades.some((d) => !Number.isInteger(d)))
      c.fail('config.condition.decades', 'must be a list of years');
    condition = { genres: v.genres as string[], decades: v.decades as number[] };
  }
  const config: ModelConfig = {
    width: lim('width'),
    height: lim('height'),
    channels: 3,
    zDim: lim('zDim'),
    gf: lim('gf'),
    df: lim('df'),
    layersG: lim('layersG'),
    layersD: lim('layersD'),
    kH: lim('kH'),
    kW: lim('kW'),
    batchNormG: c.bool(o.batchNormG, 'config.batchNormG'),
    batchNormD: c.bool(o.batchNormD, 'config.batchNormD'),
    activationG: act('activationG'),
    activationD: act('activationD'),
    condition,
  };
  return config;
}

/** The recipe of a small-data checkpoint (absent = the seed's); returns whether it keeps an EMA of G. */
function checkRecipe(c: Checker, raw: unknown): boolean {
  if (raw === undefined) return false;
  const r = c.obj(raw, 'recipe');
  if (!LOSSES.includes(r.loss as never)) c.fail('recipe.loss', `must be one of ${LOSSES.join(', ')}`);
  if (!Array.isArray(r.diffAugment) || r.diffAugment.some((a) => !AUGMENTS.includes(a as never)))
    c.fail('recipe.diffAugment', `must be a list of ${AUGMENTS.join(', ')}`);
  c.bool(r.mirror, 'recipe.mirror');
  return c.num(r.emaDecay, 'recipe.emaDecay', 0, 0.999999) > 0;
}

/**
 * Checks state.json against the size of tensors.bin (in bytes) and returns it typed. Every
 * offset and length is a whole number inside the file, the file holds exactly what the config's
 * networks, their Adam moments and the grid latents need, and the grid matches the latents.
 */
export function checkCheckpointJson(raw: unknown, binBytes: number, file: string, version: number): void {
  const c = new Checker(file);
  const o = c.obj(raw, '(top level)');
  if (o.version !== version) c.fail('version', `must be ${version}, got ${JSON.stringify(o.version)}`);
  c.int(o.iteration, 'iteration');
  c.int(o.seed, 'seed');
  c.int(o.datasetSize, 'datasetSize');
  const steps = c.obj(o.adamSteps, 'adamSteps');
  c.int(steps.g, 'adamSteps.g');
  c.int(steps.d, 'adamSteps.d');
  const config = checkConfig(c, o.config);
  const t = c.obj(o.train, 'train');
  c.num(t.learningRateG, 'train.learningRateG', 0, 1);
  c.num(t.learningRateD, 'train.learningRateD', 0, 1);
  c.num(t.beta1, 'train.beta1', 0, 0.999);
  c.int(t.nbrGUpdates, 'train.nbrGUpdates', LIMITS.nbrGUpdates[0], LIMITS.nbrGUpdates[1]);
  if (t.batchSize !== undefined) c.int(t.batchSize, 'train.batchSize', 1, 4096);
  const rows = c.int(t.rows, 'train.rows', LIMITS.rows[0], LIMITS.rows[1]);
  const cols = c.int(t.cols, 'train.cols', LIMITS.cols[0], LIMITS.cols[1]);

  if (binBytes % 4 !== 0) c.fail('tensors.bin', `is ${binBytes} bytes, not a whole number of float32 values`);
  const total = binBytes / 4;
  const cd = conditionDim(config);
  const zLength = rows * cols * config.zDim;
  const yLength = rows * cols * cd;
  const size = networkSize(config);
  const emaG = checkRecipe(c, o.recipe) ? size.generator : 0;
  // Weights, then Adam's m and v for each trainable weight, G's moving average (small-data recipe), then the grid latents.
  const expected = size.total + 2 * size.trainable + emaG + zLength + yLength;
  if (total !== expected) c.fail('tensors.bin', `holds ${total} values where this config needs ${expected}`);
  const z = c.range(o.fixedZ, 'fixedZ', total);
  if (z.length !== zLength)
    c.fail('fixedZ.length', `must be ${rows}x${cols} grid x ${config.zDim} latents = ${zLength}, got ${z.length}`);
  if (cd === 0) {
    if (o.fixedY !== null) c.fail('fixedY', 'must be null for a model without conditions');
  } else {
    const y = c.range(o.fixedY, 'fixedY', total);
    if (y.length !== yLength) c.fail('fixedY.length', `must be ${yLength}, got ${y.length}`);
  }
  checkTensors(c, o.tensors, total);
}

/** Each entry of "tensors" a name used once, a shape of whole sizes and a range inside the file. */
function checkTensors(c: Checker, raw: unknown, total: number): void {
  if (!Array.isArray(raw)) c.fail('tensors', 'is missing or not a list');
  const names = new Set<string>();
  (raw as unknown[]).forEach((item, i) => {
    const e = c.obj(item, `tensors[${i}]`);
    if (typeof e.name !== 'string' || names.has(e.name)) c.fail(`tensors[${i}].name`, 'must be a name used once');
    names.add(e.name as string);
    if (!Array.isArray(e.shape) || e.shape.length > 4) c.fail(`tensors[${i}].shape`, 'must be a list of up to 4 sizes');
    let n = 1;
    (e.shape as unknown[]).forEach((d, j) => {
      n *= c.int(d, `tensors[${i}].shape[${j}]`, 1, total);
    });
    const offset = c.int(e.offset, `tensors[${i}].offset`, 0, total);
    if (n > total - offset) c.fail(`tensors[${i}]`, `(${e.name}) reaches past the end of tensors.bin`);
  });
}

/**
 * An exported generator's state.json (dcgan/generator-file.ts), as strictly as a checkpoint's:
 * every field typed and in range, the dtype one of `dtypes` (bytes per value), and tensors.bin
 * exactly the config's generator at that dtype. Returns it typed.
 */
export function checkGeneratorJson<T>(
  raw: unknown,
  binBytes: number,
  file: string,
  version: number,
  dtypes: Record<string, number>,
): T {
  const c = new Checker(file, 'the exported generator is damaged (export it again with dcgan export)');
  const o = c.obj(raw, '(top level)');
  if (o.version !== version) c.fail('version', `must be ${version}, got ${JSON.stringify(o.version)}`);
  c.int(o.iteration, 'iteration');
  const config = checkConfig(c, o.config);
  const ema = checkRecipe(c, c.obj(o.recipe, 'recipe'));
  if (o.weights !== 'g' && !(o.weights === 'ema' && ema))
    c.fail(
      'weights',
      `must be "g"${ema ? ' or "ema"' : ' (the recipe keeps no EMA)'}, got ${JSON.stringify(o.weights)}`,
    );
  const bytes = typeof o.dtype === 'string' && Object.hasOwn(dtypes, o.dtype) ? dtypes[o.dtype]! : 0;
  if (!bytes) c.fail('dtype', `must be one of ${Object.keys(dtypes).join(', ')}, got ${JSON.stringify(o.dtype)}`);
  const grid = c.obj(o.grid, 'grid');
  c.int(grid.rows, 'grid.rows', LIMITS.rows[0], LIMITS.rows[1]);
  c.int(grid.cols, 'grid.cols', LIMITS.cols[0], LIMITS.cols[1]);
  const source = c.obj(o.source, 'source');
  if (typeof source.checkpoint !== 'string') c.fail('source.checkpoint', 'must be a path');
  if (source.run !== undefined && typeof source.run !== 'string') c.fail('source.run', 'must be a folder name');
  if (typeof source.tensorsSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(source.tensorsSha256))
    c.fail('source.tensorsSha256', 'must be 64 hex digits');
  if (binBytes % bytes !== 0)
    c.fail('tensors.bin', `is ${binBytes} bytes, not a whole number of ${o.dtype as string} values`);
  const total = binBytes / bytes;
  const expected = networkSize(config).generator;
  if (total !== expected)
    c.fail('tensors.bin', `holds ${total} values where this config's generator needs ${expected}`);
  checkTensors(c, o.tensors, total);
  return o as T;
}
