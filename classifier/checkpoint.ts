/**
 * The classifier's training checkpoint, models/<name>/checkpoint/: the last finished epoch's
 * model, optimizer state (optimizer.bin + state.json) and progress, for --resume. Swapped in
 * whole (src/core/fs/atomic-dir.ts); checkpoint.old is the previous one while a swap runs.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { replaceDirAtomic } from '../src/core/fs/atomic-dir.js';
import { OwnedDir, removeOurFolder } from '../src/core/fs/ownership.js';
import { isAlive } from '../src/core/fs/pid.js';
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
const CKPT_FILES = ['model.json', 'weights.bin', 'optimizer.bin', 'state.json'];
const CKPT_TEMP = new RegExp(`^${CKPT}\\.tmp-(\\d+)$`);

export async function saveCheckpoint(
  dir: string,
  model: LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<CheckpointState, 'optimizerWeights' | 'accBeta'>,
): Promise<void> {
  const owned = await OwnedDir.open(dir);
  await owned.claim([CKPT, `${CKPT}.old`]);
  // Half-written checkpoints of killed runs are never read: clear them so they cannot pile up
  // (exactly our temp names, writers no longer running, file by file).
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = CKPT_TEMP.exec(name);
    if (m && (Number(m[1]) === process.pid || !isAlive(Number(m[1]))))
      await removeOurFolder(path.join(dir, name), CKPT_FILES);
  }
  await replaceDirAtomic({
    final: path.join(dir, CKPT),
    tmp: path.join(dir, `${CKPT}.tmp-${process.pid}`),
    old: path.join(dir, `${CKPT}.old`),
    files: CKPT_FILES,
    fill: (tmp) => writeCheckpointFiles(tmp, model, optimizer, state),
  });
}

async function writeCheckpointFiles(
  tmp: string,
  model: LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<CheckpointState, 'optimizerWeights' | 'accBeta'>,
): Promise<void> {
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
  await writeJsonAtomic(path.join(tmp, 'state.json'), {
    ...state,
    accBeta,
    optimizerWeights: specs,
  } satisfies CheckpointState);
}

/** The last whole checkpoint (checkpoint/, or checkpoint.old/ when a swap was interrupted), or null. */
export function checkpointDir(dir: string): string | null {
  for (const d of [CKPT, `${CKPT}.old`]) {
    const p = path.join(dir, d);
    if (existsSync(path.join(p, 'state.json')) && existsSync(path.join(p, 'optimizer.bin'))) return p;
  }
  return null;
}

/** Every optimizer weight's offset and length: whole numbers inside optimizer.bin, matching its shape; checked before any is read. */
function checkOptimizerSpecs(state: CheckpointState, binBytes: number, file: string): void {
  const bad = (field: string, what: string): never => {
    throw new UserError(`${file}: "${field}" ${what}; the checkpoint is damaged (train again without --resume)`);
  };
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!state || typeof state !== 'object') bad('(top level)', 'is not an object');
  if (!isInt(state.epoch)) bad('epoch', 'must be a whole number >= 0');
  if (!Array.isArray(state.optimizerWeights)) bad('optimizerWeights', 'is missing or not a list');
  if (binBytes % 4 !== 0) bad('optimizer.bin', `is ${binBytes} bytes, not a whole number of float32 values`);
  const total = binBytes / 4;
  state.optimizerWeights.forEach((w, i) => {
    const f = `optimizerWeights[${i}]`;
    if (!w || typeof w.name !== 'string') bad(`${f}.name`, 'is missing');
    if (!isInt(w.offset) || w.offset > total) bad(`${f}.offset`, `must be a whole number from 0 to ${total}`);
    if (!isInt(w.length) || w.length > total - w.offset)
      bad(`${f}.length`, 'must be a whole number that stays inside optimizer.bin');
    if (!Array.isArray(w.shape) || !w.shape.every(isInt) || w.shape.reduce((a, b) => a * b, 1) !== w.length)
      bad(`${f}.shape`, `must be sizes whose product is its length ${w.length}`);
  });
}

export async function loadCheckpoint(
  ckpt: string,
): Promise<{ model: LayersModel; state: CheckpointState; restore(opt: tf.Optimizer): Promise<void> }> {
  const file = path.join(ckpt, 'state.json');
  let state: CheckpointState;
  try {
    state = JSON.parse(await fs.readFile(file, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new UserError(`${file}: cannot read checkpoint (${(err as Error).message.split('\n')[0]})`);
  }
  checkOptimizerSpecs(state, (await fs.stat(path.join(ckpt, 'optimizer.bin'))).size, file);
  const model = await loadLayersModel(ckpt);
  const bytes = await fs.readFile(path.join(ckpt, 'optimizer.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return {
    model,
    state,
    async restore(opt) {
      await opt.setWeights(
        state.optimizerWeights.map((s) => ({
          name: s.name,
          tensor: tf.tensor(all.slice(s.offset, s.offset + s.length), s.shape),
        })),
      );
      if (state.accBeta && opt instanceof FusedAdamOptimizer) opt.restoreBetaPowers(state.accBeta);
    },
  };
}
