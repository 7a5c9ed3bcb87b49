/**
 * The classifier's training checkpoint, models/<name>/checkpoint/: the last finished epoch's
 * model, optimizer state (optimizer.bin + state.json) and progress, for --resume. Swapped in
 * whole (src/core/fs/atomic-dir.ts); checkpoint.old is the previous one while a swap runs.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceDirAtomic } from '../src/core/fs/atomic-dir.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs/atomic.js';
import { loadLayersModel, saveLayersModel } from '../src/artifacts/model-io.js';
import { FusedAdamOptimizer, tf, type LayersModel } from '../engine/index.js';

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
  // Half-written checkpoints of killed runs (any pid) are never read: clear them so they cannot pile up.
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(`${CKPT}.tmp-`)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
  await replaceDirAtomic({
    final: path.join(dir, CKPT),
    tmp: path.join(dir, `${CKPT}.tmp-${process.pid}`),
    old: path.join(dir, `${CKPT}.old`),
    fill: (tmp) => writeCheckpointFiles(tmp, model, optimizer, state),
  });
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
  const accBeta = optimizer instanceof FusedAdamOptimizer ? optimizer.betaPowers() : null;
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
      if (state.accBeta && opt instanceof FusedAdamOptimizer) opt.restoreBetaPowers(state.accBeta);
    },
  };
}
