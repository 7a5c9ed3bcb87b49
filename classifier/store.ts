/**
 * Models on disk. models/<name>/ holds model.json + weights.bin (the best validation epoch so
 * far), metadata.json (genres, input size, params, fingerprint, metrics, thresholds) and
 * checkpoint/ (the last finished epoch with optimizer state, for --resume). A checkpoint is
 * written to a temp directory and swapped in by rename, so a kill at any moment leaves the
 * previous whole checkpoint or the new whole one.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs/atomic.js';
import { rgbToFloat, type RgbImage } from '../src/core/images/decode.js';
import { resizeRgb } from '../src/features/scoring/tfjs-model.js';
import { loadLayersModel, saveLayersModel } from '../src/core/model-io.js';
import { tf, type LayersModel } from '../engine/index.js';

export interface NameParams {
  genres: string;
  ratio: number;
  version: number;
  minYear?: number;
  maxYear?: number;
}

/** The seed's naming from the params, e.g. genres-7_ratio-60_v1_1977-2017 ("any" for an open year bound). */
export function modelName(p: NameParams): string {
  const g = /^\d+$/.test(p.genres) ? p.genres : p.genres.split(',').map((x) => x.trim()).join('+');
  return `genres-${g}_ratio-${p.ratio}_v${p.version}_${p.minYear ?? 'any'}-${p.maxYear ?? 'any'}`;
}

export interface ClassifierMetadata {
  name: string;
  genres: string[];
  input: { width: number; height: number; channels: 3; range: 'unit' };
  params: Record<string, unknown>;
  dataset: { csv: string; data: string; fingerprint: string; counts: Record<string, number>; skipped: number };
  thresholds: number[];
  trainPriors: number[];
  epoch: number;
  bestEpoch: number;
  history: Record<string, number>[];
  validation?: Record<string, unknown>;
  backend: string;
  imagesPerSecond: number;
  extras?: Record<string, unknown>;
  complete: boolean;
  savedAt: string;
}

export async function saveModel(model: LayersModel, dir: string, meta: ClassifierMetadata): Promise<void> {
  await saveLayersModel(model, dir);
  await writeJsonAtomic(path.join(dir, 'metadata.json'), meta);
}

export interface Classifier {
  dir: string;
  model: LayersModel;
  meta: ClassifierMetadata;
  genres: string[];
  width: number;
  height: number;
  thresholds: number[];
}

export async function readMetadata(dir: string): Promise<ClassifierMetadata> {
  const file = path.join(dir, 'metadata.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ClassifierMetadata;
  } catch (err) {
    throw new UserError(`${file}: cannot read the classifier's metadata (${(err as Error).message.split('\n')[0]}); is ${dir} a directory written by 'classifier train'?`);
  }
}

export async function loadClassifier(dir: string): Promise<Classifier> {
  const meta = await readMetadata(dir);
  let model: LayersModel;
  try {
    model = await loadLayersModel(dir);
  } catch (err) {
    throw new UserError(`${dir}: cannot load model.json/weights.bin (${(err as Error).message.split('\n')[0]})`);
  }
  return { dir, model, meta, genres: meta.genres, width: meta.input.width, height: meta.input.height, thresholds: meta.thresholds };
}

/** The newest model directory (by metadata.json time) under a models directory, or null. */
export async function newestClassifier(modelsDir: string): Promise<string | null> {
  if (!existsSync(modelsDir)) return null;
  let best: { dir: string; t: number } | null = null;
  for (const e of await fs.readdir(modelsDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const dir = path.join(modelsDir, e.name);
    const m = path.join(dir, 'metadata.json');
    if (!existsSync(m) || !existsSync(path.join(dir, 'model.json'))) continue;
    const t = (await fs.stat(m)).mtimeMs;
    if (!best || t > best.t) best = { dir, t };
  }
  return best?.dir ?? null;
}

/** Float batch in the classifier's [0,1] range from byte images already at the input size. */
export function batchTensor(images: readonly Uint8Array[], width: number, height: number): tf.Tensor4D {
  const size = width * height * 3;
  const buf = new Float32Array(images.length * size);
  images.forEach((img, i) => rgbToFloat(img, 'unit', buf, i * size));
  return tf.tensor4d(buf, [images.length, height, width, 3]);
}

/** Sigmoid scores (row-major n x k) of byte images at the model's input size, in batches. */
export async function predictBytes(model: LayersModel, images: readonly Uint8Array[], width: number, height: number, batch = 32): Promise<Float32Array> {
  const k = model.outputs[0]!.shape[1]!;
  const out = new Float32Array(images.length * k);
  for (let i = 0; i < images.length; i += batch) {
    const x = batchTensor(images.slice(i, i + batch), width, height);
    const y = model.predict(x) as tf.Tensor;
    out.set((await y.data()) as Float32Array, i * k);
    tf.dispose([x, y]);
  }
  return out;
}

async function bytesAtInput(c: Pick<Classifier, 'width' | 'height'>, images: readonly RgbImage[]): Promise<Uint8Array[]> {
  return Promise.all(images.map(async (img) => (await resizeRgb(img, c.width, c.height)).data));
}

/** One score vector per image (any size: resized to the model's input), genres in c.genres order. */
export async function scoreImages(c: Classifier, images: readonly RgbImage[]): Promise<Float32Array[]> {
  const flat = await predictBytes(c.model, await bytesAtInput(c, images), c.width, c.height);
  const k = c.genres.length;
  return images.map((_, i) => flat.slice(i * k, (i + 1) * k));
}

const featureModels = new WeakMap<LayersModel, LayersModel>();

/** The layer feeding the output Dense layer (v1-v3: Dense512 after dropout; v4: pooled 256 features). */
export function featureModel(model: LayersModel): LayersModel {
  let f = featureModels.get(model);
  if (!f) {
    const last = model.layers[model.layers.length - 1]!;
    f = tf.model({ inputs: model.inputs, outputs: last.input as tf.SymbolicTensor });
    featureModels.set(model, f);
  }
  return f;
}

/** Penultimate-layer features per image (for poster-FID and the year/score heads). */
export async function imageFeatures(c: Classifier, images: readonly RgbImage[]): Promise<Float32Array[]> {
  return featuresOfBytes(c.model, await bytesAtInput(c, images), c.width, c.height);
}

export async function featuresOfBytes(model: LayersModel, images: readonly Uint8Array[], width: number, height: number, batch = 32): Promise<Float32Array[]> {
  const f = featureModel(model);
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) {
    const x = batchTensor(images.slice(i, i + batch), width, height);
    const y = f.predict(x) as tf.Tensor;
    const v = (await y.data()) as Float32Array;
    const d = v.length / (y.shape[0] ?? 1);
    for (let r = 0; r < y.shape[0]!; r++) out.push(v.slice(r * d, (r + 1) * d));
    tf.dispose([x, y]);
  }
  return out;
}

// ---- checkpoints -------------------------------------------------------------------------

export interface CheckpointState {
  /** Epochs finished. */
  epoch: number;
  params: Record<string, unknown>;
  fingerprint: string;
  history: Record<string, number>[];
  bestEpoch: number;
  bestScore: number;
  /** Adam's beta powers, restored exactly (tfjs recomputes them with pow, which rounds differently). */
  accBeta: [number, number] | null;
  optimizerWeights: { name: string; shape: number[]; offset: number; length: number }[];
  elapsedSeconds: number;
  trainedImages: number;
}

const CKPT = 'checkpoint';

export async function saveCheckpoint(dir: string, model: LayersModel, optimizer: tf.Optimizer, state: Omit<CheckpointState, 'optimizerWeights' | 'accBeta'>): Promise<void> {
  const final = path.join(dir, CKPT);
  const tmp = path.join(dir, `${CKPT}.tmp-${process.pid}`);
  // Half-written checkpoints of killed runs (any pid) are never read: clear them so they cannot pile up.
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(`${CKPT}.tmp-`)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
  try {
    await writeCheckpointFiles(tmp, model, optimizer, state);
  } catch (err) {
    // A full disk must not leave a megabyte of partial checkpoint behind; the last good one stays.
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  const old = path.join(dir, `${CKPT}.old`);
  await fs.rm(old, { recursive: true, force: true });
  if (existsSync(final)) await fs.rename(final, old);
  await fs.rename(tmp, final);
  await fs.rm(old, { recursive: true, force: true });
}

async function writeCheckpointFiles(tmp: string, model: LayersModel, optimizer: tf.Optimizer, state: Omit<CheckpointState, 'optimizerWeights' | 'accBeta'>): Promise<void> {
  await saveLayersModel(model, tmp);
  const weights = await optimizer.getWeights();
  const parts: Buffer[] = [];
  const specs: CheckpointState['optimizerWeights'] = [];
  let offset = 0;
  for (const w of weights) {
    const v = (await w.tensor.data()) as Float32Array;
    specs.push({ name: w.name, shape: w.tensor.shape, offset, length: v.length });
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    offset += v.length;
  }
  await writeFileAtomic(path.join(tmp, 'optimizer.bin'), Buffer.concat(parts));
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  const accBeta: [number, number] | null = o.accBeta1 && o.accBeta2 ? [o.accBeta1.dataSync()[0]!, o.accBeta2.dataSync()[0]!] : null;
  await writeJsonAtomic(path.join(tmp, 'state.json'), { ...state, accBeta, optimizerWeights: specs } satisfies CheckpointState);
}

/** The last whole checkpoint (checkpoint/, or checkpoint.old/ when a swap was interrupted), or null. */
export function checkpointDir(dir: string): string | null {
  for (const d of [CKPT, `${CKPT}.old`]) {
    const p = path.join(dir, d);
    if (existsSync(path.join(p, 'state.json')) && existsSync(path.join(p, 'optimizer.bin'))) return p;
  }
  return null;
}

export async function loadCheckpoint(ckpt: string): Promise<{ model: LayersModel; state: CheckpointState; restore(opt: tf.Optimizer): Promise<void> }> {
  const state = JSON.parse(await fs.readFile(path.join(ckpt, 'state.json'), 'utf8')) as CheckpointState;
  const model = await loadLayersModel(ckpt);
  const bytes = await fs.readFile(path.join(ckpt, 'optimizer.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return {
    model,
    state,
    async restore(opt) {
      await opt.setWeights(state.optimizerWeights.map((s) => ({ name: s.name, tensor: tf.tensor(all.slice(s.offset, s.offset + s.length), s.shape) })));
      const o = opt as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
      if (state.accBeta && o.accBeta1 && o.accBeta2) {
        o.accBeta1.assign(tf.scalar(state.accBeta[0]));
        o.accBeta2.assign(tf.scalar(state.accBeta[1]));
      }
    },
  };
}
