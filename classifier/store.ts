/**
 * Inference over the in-memory dataset (byte images already at the input size) for training and
 * evaluation, and the training checkpoint, models/<name>/checkpoint/ (the last finished epoch
 * with optimizer state, for --resume). The saved model itself is src/artifacts/classifier-model.ts.
 * A checkpoint is written to a temp directory and swapped in by rename, so a kill at any moment
 * leaves the previous whole checkpoint or the new whole one.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs/atomic.js';
import { featureModel } from '../src/artifacts/classifier-model.js';
import { rgbToFloat } from '../src/core/images/decode.js';
import { loadLayersModel, saveLayersModel } from '../src/core/model-io.js';
import { tf, type LayersModel } from '../engine/index.js';

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
