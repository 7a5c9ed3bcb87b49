/**
 * A saved genre classifier, models/<name>/: model.json + weights.bin (tfjs layers format, the
 * best validation epoch) and metadata.json (genres, input size, params, fingerprint, metrics,
 * thresholds). `classifier train` writes it; classify, fid and report load it through the one
 * loader here, which also gives the scorer, the feature model (for poster-FID) and saliency.
 * A tfjs model without metadata.json opens too (openGenreModel): genres are then numbered.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { MultiLabelReport } from './classifier-evaluation.js';
import { writeJsonAtomic } from '../core/fs/atomic.js';
import { rgbToFloat, type RgbImage } from '../core/images/decode.js';
import { resizeRgb } from '../core/images/resize.js';
import { loadLayersModel, saveLayersModel } from './model-io.js';
import { tf, type LayersModel } from '../../engine/index.js';

export const METADATA_FILE = 'metadata.json';

/**
 * Test-time augmentation of a saved classifier's genre scores: "flip" averages the poster's
 * scores with its left-right mirror's (the training flips posters, so both are posters it knows).
 */
export const TTA_MODES = ['none', 'flip'] as const;
export type Tta = (typeof TTA_MODES)[number];

/** The metadata's "tta" (absent = none); null when it is not one of TTA_MODES. */
export function ttaOf(meta: Record<string, unknown> | null | undefined): Tta | null {
  const v = meta?.tta;
  if (v === undefined) return 'none';
  return (TTA_MODES as readonly unknown[]).includes(v) ? (v as Tta) : null;
}

function badTta(file: string, v: unknown): UserError {
  return new UserError(
    `${file}: "tta" is ${JSON.stringify(v)}; accepted: ${TTA_MODES.map((m) => `"${m}"`).join(' or ')} (absent = none)`,
  );
}

export interface NameParams {
  genres: string;
  ratio: number;
  version: number;
  minYear?: number;
  maxYear?: number;
}

/** The seed's naming from the params, e.g. genres-7_ratio-60_v1_1977-2017 ("any" for an open year bound). */
export function modelName(p: NameParams): string {
  const g = /^\d+$/.test(p.genres)
    ? p.genres
    : p.genres
        .split(',')
        .map((x) => x.trim())
        .join('+');
  return `genres-${g}_ratio-${p.ratio}_v${p.version}_${p.minYear ?? 'any'}-${p.maxYear ?? 'any'}`;
}

export interface ClassifierMetadata {
  name: string;
  genres: string[];
  input: { width: number; height: number; channels: 3; range: 'unit' };
  params: Record<string, unknown>;
  dataset: { csv: string; data: string; fingerprint: string; counts: Record<string, number>; skipped: number };
  thresholds: number[];
  /** How genre scores are computed at test time (absent = none); the thresholds are tuned with it. */
  tta?: Tta;
  trainPriors: number[];
  epoch: number;
  bestEpoch: number;
  history: Record<string, number>[];
  /** The best epoch's validation report. */
  validation?: MultiLabelReport;
  backend: string;
  imagesPerSecond: number;
  extras?: Record<string, unknown>;
  complete: boolean;
  savedAt: string;
}

/** metadata.json alone (thresholds retuned): the weights, and so the feature network's hash, stay byte-identical. */
export async function saveMetadata(dir: string, meta: ClassifierMetadata): Promise<void> {
  await writeJsonAtomic(path.join(dir, METADATA_FILE), meta);
}

/** Weights first, then metadata.json: a metadata file never describes weights that are not there. */
export async function saveClassifier(model: LayersModel, dir: string, meta: ClassifierMetadata): Promise<void> {
  await saveLayersModel(model, dir);
  await writeJsonAtomic(path.join(dir, METADATA_FILE), meta);
}

/** metadata.json of a saved classifier; one line naming the file and the field when it is not one. */
export async function readMetadata(dir: string): Promise<ClassifierMetadata> {
  const file = path.join(dir, METADATA_FILE);
  let meta: ClassifierMetadata;
  try {
    meta = JSON.parse(await fs.readFile(file, 'utf8')) as ClassifierMetadata;
  } catch (err) {
    throw new UserError(
      `${file}: cannot read the classifier's metadata (${(err as Error).message.split('\n')[0]}); is ${dir} a directory written by 'classifier train'?`,
    );
  }
  const bad = (field: string): never => {
    throw new UserError(
      `${file}: "${field}" is missing or malformed; is ${dir} a directory written by 'classifier train'?`,
    );
  };
  if (!meta || typeof meta !== 'object') bad('genres');
  if (!Array.isArray(meta.genres) || !meta.genres.every((g) => typeof g === 'string')) bad('genres');
  if (!meta.input || !Number.isInteger(meta.input.width) || !Number.isInteger(meta.input.height)) bad('input');
  if (!Array.isArray(meta.thresholds) || meta.thresholds.length !== meta.genres.length) bad('thresholds');
  if (!ttaOf(meta as unknown as Record<string, unknown>)) throw badTta(file, meta.tta);
  return meta;
}

/** Every saved model under modelsDir (a directory with model.json and metadata.json), by name. */
export async function allClassifiers(modelsDir: string): Promise<string[]> {
  if (!existsSync(modelsDir)) return [];
  const out: string[] = [];
  for (const e of await fs.readdir(modelsDir, { withFileTypes: true })) {
    const dir = path.join(modelsDir, e.name);
    if (e.isDirectory() && existsSync(path.join(dir, METADATA_FILE)) && existsSync(path.join(dir, 'model.json')))
      out.push(dir);
  }
  return out.sort();
}

/** The newest model directory (by metadata.json time) under a models directory, or null. */
export async function newestClassifier(modelsDir: string): Promise<string | null> {
  let best: { dir: string; t: number } | null = null;
  for (const dir of await allClassifiers(modelsDir)) {
    const t = (await fs.stat(path.join(dir, METADATA_FILE))).mtimeMs;
    if (!best || t > best.t) best = { dir, t };
  }
  return best?.dir ?? null;
}

export interface ModelInput {
  width: number;
  height: number;
  /** Pixel scaling the classifier was trained with. */
  range: 'unit' | 'tanh';
}

/** Any tfjs genre classifier, as the functions the commands and features need. */
export interface GenreModel {
  name: string;
  dir: string;
  genres: string[];
  input: ModelInput;
  metadata: Record<string, unknown> | null;
  model: LayersModel;
  /** How score() computes genre scores (the metadata's "tta"). */
  tta: Tta;
  /** Scores per image (any size: resized to the input), keyed by genre; flip-averaged under tta "flip". */
  score(images: RgbImage[]): Promise<Record<string, number>[]>;
  /** Penultimate-layer features per image (for poster-FID and the year/score heads), never flipped. */
  features(images: RgbImage[]): Promise<Float32Array[]>;
  /** |∂ score(genre) / ∂ pixel|, max over channels, per image at the model's input size. */
  saliency(images: RgbImage[], genre: string): Promise<Float32Array[]>;
}

/** A classifier `classifier train` saved: a GenreModel with its metadata. */
export interface Classifier extends GenreModel {
  meta: ClassifierMetadata;
  width: number;
  height: number;
  thresholds: number[];
}

/** Images scored per predict call: bounds the memory of a large directory. */
const BATCH = 32;

async function toBatch(images: readonly RgbImage[], input: ModelInput): Promise<tf.Tensor4D> {
  const size = input.width * input.height * 3;
  const buf = new Float32Array(images.length * size);
  for (const [i, img] of images.entries()) {
    const r = await resizeRgb(img, input.width, input.height);
    rgbToFloat(r.data, input.range, buf, i * size);
  }
  return tf.tensor4d(buf, [images.length, input.height, input.width, 3]);
}

const featureModels = new WeakMap<LayersModel, LayersModel>();

/** The model up to the tensor that feeds the last Dense layer: the "penultimate" features FID compares. */
export function featureModel(model: LayersModel): LayersModel {
  let f = featureModels.get(model);
  if (!f) {
    const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
    if (!dense) throw new Error('the model has no Dense layer to take features before');
    f = tf.model({ inputs: model.inputs, outputs: dense.input as tf.SymbolicTensor });
    featureModels.set(model, f);
  }
  return f;
}

/**
 * The model's output on a batch, under a test-time augmentation: with "flip", the mean of its
 * output on the batch and on the batch mirrored left to right (axis 2 of NHWC), i.e. the mean of
 * the two sigmoid scores. Every genre score of a saved classifier goes through here.
 */
export function predictTta(model: LayersModel, x: tf.Tensor4D, tta: Tta): tf.Tensor {
  if (tta === 'none') return model.predict(x) as tf.Tensor;
  return tf.tidy(() => {
    const a = model.predict(x) as tf.Tensor;
    const b = model.predict(tf.reverse(x, 2)) as tf.Tensor;
    return a.add(b).div(2);
  });
}

/** Rows of `net`'s output per image (under `tta`), BATCH images per call. */
async function rows(
  net: LayersModel,
  images: readonly RgbImage[],
  input: ModelInput,
  tta: Tta = 'none',
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += BATCH) {
    const chunk = images.slice(i, i + BATCH);
    const x = await toBatch(chunk, input);
    const y = predictTta(net, x, tta);
    const v = (await y.data()) as Float32Array;
    const d = v.length / chunk.length;
    for (let r = 0; r < chunk.length; r++) out.push(v.slice(r * d, (r + 1) * d));
    tf.dispose([x, y]);
  }
  return out;
}

function pickGenres(meta: Record<string, unknown> | null, outputs: number): string[] {
  const g = meta?.genres;
  if (Array.isArray(g) && g.length === outputs && g.every((x) => typeof x === 'string')) return g as string[];
  return Array.from({ length: outputs }, (_, i) => `genre ${i + 1}`);
}

function pickRange(meta: Record<string, unknown> | null): 'unit' | 'tanh' {
  const r = meta?.range ?? meta?.inputRange ?? (meta?.input as Record<string, unknown> | undefined)?.range;
  return r === 'tanh' ? 'tanh' : 'unit';
}

export function wrapLayersModel(
  model: LayersModel,
  opts: {
    name: string;
    dir: string;
    genres?: string[];
    range?: 'unit' | 'tanh';
    metadata?: Record<string, unknown> | null;
  },
): GenreModel {
  const shape = model.inputs[0]!.shape;
  const [height, width, channels] = [shape[1], shape[2], shape[3]];
  if (!height || !width || channels !== 3)
    throw new Error(`model input shape ${JSON.stringify(shape)} is not [batch, height, width, 3]`);
  const outputs = model.outputs[0]!.shape[1] ?? 0;
  const genres = opts.genres ?? pickGenres(opts.metadata ?? null, outputs);
  const input: ModelInput = { width, height, range: opts.range ?? pickRange(opts.metadata ?? null) };
  const tta = ttaOf(opts.metadata) ?? 'none';
  // One batch through the model as score() sees it: the saliency explains the score shown.
  const scoreOf = (t: tf.Tensor): tf.Tensor => {
    const a = model.apply(t, { training: false }) as tf.Tensor;
    return tta === 'flip' ? a.add(model.apply(tf.reverse(t, 2), { training: false }) as tf.Tensor).div(2) : a;
  };
  return {
    name: opts.name,
    dir: opts.dir,
    genres,
    input,
    metadata: opts.metadata ?? null,
    model,
    tta,
    async score(images) {
      const v = await rows(model, images, input, tta);
      return v.map((s) => Object.fromEntries(genres.map((g, j) => [g, s[j]!])));
    },
    async features(images) {
      // Never flip-averaged: FID/KID/precision-recall compare these features across runs and the
      // year/IMDB heads were fitted on them, so the ruler must not change with a scoring option.
      return rows(featureModel(model), images, input);
    },
    async saliency(images, genre) {
      const j = genres.indexOf(genre);
      if (j < 0) throw new Error(`unknown genre ${genre}; the model has ${genres.join(', ')}`);
      const x = await toBatch(images, input);
      // Images are independent at inference, so one backward pass gives every image's gradient.
      const grad = tf.grad((t: tf.Tensor) => scoreOf(t).slice([0, j], [-1, 1]).sum())(x);
      const m = grad.abs().max(3);
      const v = (await m.data()) as Float32Array;
      tf.dispose([x, grad, m]);
      const n = input.width * input.height;
      return images.map((_, i) => v.slice(i * n, (i + 1) * n));
    },
  };
}

/**
 * The model's own name (metadata.json "name") when it has a plain one, else its directory's:
 * the shipped network lives in a folder called `classifier`, which says nothing about it.
 */
export function ownName(model: GenreModel): string {
  const name = model.metadata?.name;
  return typeof name === 'string' && /^[\w.+-]+$/.test(name) ? name : model.name;
}

async function loadModelFiles(dir: string): Promise<LayersModel> {
  try {
    return await loadLayersModel(dir);
  } catch (err) {
    throw new UserError(`${dir}: cannot load model.json/weights.bin (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Loads models/<name> as `classifier train` saved it; metadata.json is required. */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const meta = await readMetadata(dir);
  const model = await loadModelFiles(dir);
  const g = wrapLayersModel(model, {
    name: path.basename(path.resolve(dir)),
    dir,
    genres: meta.genres,
    metadata: meta as unknown as Record<string, unknown>,
  });
  return { ...g, meta, width: meta.input.width, height: meta.input.height, thresholds: meta.thresholds };
}

/** Any tfjs classifier directory: with metadata.json when it has one (genres, input range), else genres numbered. */
export async function openGenreModel(dir: string): Promise<GenreModel> {
  let metadata: Record<string, unknown> | null = null;
  const file = path.join(dir, METADATA_FILE);
  try {
    metadata = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    metadata = null;
  }
  // Lenient about everything else, but a tta it cannot honour would silently change every score.
  if (metadata && !ttaOf(metadata)) throw badTta(file, metadata.tta);
  return wrapLayersModel(await loadModelFiles(dir), { name: path.basename(path.resolve(dir)), dir, metadata });
}
