/**
 * Checkpoints: samples/checkpoints/ckpt_000100/{state.json, tensors.bin}. Each one is written
 * into a temp directory, fsynced and renamed into place, so a run killed at any moment leaves
 * only whole checkpoints (and temp directories the next run removes). The last N are kept.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { readBoundedJson } from '../src/artifacts/json-file.js';
import { replaceDirAtomic, writeFileSynced } from '../src/core/fs/atomic-dir.js';
import { OwnedDir, removeOurFolder } from '../src/core/fs/ownership.js';
import { isAlive } from '../src/core/fs/pid.js';
import { BEST_DIR } from '../src/artifacts/kid-log.js';
import { tf } from '../engine/index.js';
import type { ModelConfig, TrainOptions } from './config.js';
import { isSeedRecipe, type Recipe, SEED_RECIPE } from './recipe.js';
import { checkCheckpointJson } from './checkpoint-check.js';
import { isGeneratorJson } from './generator-file.js';
import { createState, disposeState, namedTensors, type TrainState } from './state.js';

export const CHECKPOINT_VERSION = 1;
/** A checkpoint's state.json lists G's, D's and both optimisers' tensors: far below this. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;
const NAME = /^ckpt_(\d+)$/;
/** Checkpoint directory names (what an --checkpoint_dir may not hold from someone else). */
export const CHECKPOINT_NAME = NAME;
const CHECKPOINT_FILES = ['state.json', 'tensors.bin'];
/** Temp and doomed names of our checkpoint directories: .ckpt_000100.<pid>.tmp[.old] and .prune. */
const CHECKPOINT_TEMP = /^\.ckpt_\d+\.(\d+)\.(tmp|tmp\.old|prune)$/;

export const checkpointName = (iteration: number): string => `ckpt_${String(iteration).padStart(6, '0')}`;

/**
 * A checkpoint named without its local path (fit for a shipped file and a page): the training
 * output's folder name and the checkpoint's path inside it, e.g. run/checkpoints/best/ckpt_000400
 * gives { run: 'run', checkpoint: 'checkpoints/best/ckpt_000400' }.
 */
export function checkpointOrigin(ckptDir: string): { run: string; checkpoint: string } {
  const abs = path.resolve(ckptDir);
  let run = path.dirname(abs);
  if (path.basename(run) === BEST_DIR) run = path.dirname(run);
  if (path.basename(run) === 'checkpoints') run = path.dirname(run);
  return { run: path.basename(run), checkpoint: path.relative(run, abs).split(path.sep).join('/') };
}

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into tensors.bin. */
  offset: number;
}

export interface CheckpointJson {
  version: number;
  iteration: number;
  seed: number;
  config: ModelConfig;
  train: TrainOptions;
  adamSteps: { g: number; d: number };
  datasetSize: number;
  fixedZ: { offset: number; length: number };
  fixedY: { offset: number; length: number } | null;
  tensors: TensorEntry[];
  savedAt: string;
  /** Absent for the seed recipe, so seed checkpoints keep the format they always had. */
  recipe?: Recipe;
}

export async function saveCheckpoint(s: TrainState, dir: string, keep: number): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const named = namedTensors(s);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of named) {
    entries.push({ name, shape: t.shape, offset });
    offset += t.size;
  }
  const zOff = offset;
  offset += s.fixedZ.length;
  const yOff = offset;
  if (s.fixedY) offset += s.fixedY.length;
  const all = new Float32Array(offset);
  for (let i = 0; i < named.length; i++) all.set(named[i]![1].dataSync() as Float32Array, entries[i]!.offset);
  all.set(s.fixedZ, zOff);
  if (s.fixedY) all.set(s.fixedY, yOff);
  const json: CheckpointJson = {
    version: CHECKPOINT_VERSION,
    iteration: s.iteration,
    seed: s.seed,
    config: s.net.config,
    train: s.train,
    adamSteps: { g: s.optG.step, d: s.optD.step },
    datasetSize: s.datasetSize,
    fixedZ: { offset: zOff, length: s.fixedZ.length },
    fixedY: s.fixedY ? { offset: yOff, length: s.fixedY.length } : null,
    tensors: entries,
    savedAt: new Date().toISOString(),
    ...(isSeedRecipe(s.recipe) ? {} : { recipe: s.recipe }),
  };
  const final = path.join(dir, checkpointName(s.iteration));
  const tmp = path.join(dir, `.${checkpointName(s.iteration)}.${process.pid}.tmp`);
  const owned = await OwnedDir.open(dir);
  await owned.claim([checkpointName(s.iteration)]);
  // Re-reaching an iteration after a resume replaces its old checkpoint (set aside at `old`).
  await replaceDirAtomic({
    final,
    tmp,
    old: `${tmp}.old`,
    files: CHECKPOINT_FILES,
    sync: true,
    async fill(t) {
      // tensors.bin first: a state.json always describes tensors that are already there.
      await writeFileSynced(path.join(t, 'tensors.bin'), new Uint8Array(all.buffer));
      await writeFileSynced(path.join(t, 'state.json'), JSON.stringify(json, null, 1) + '\n');
    },
  });
  await pruneCheckpoints(owned, keep);
  return final;
}

/** Iterations of the whole checkpoints in `dir`, newest first. */
export async function listCheckpoints(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => NAME.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
}

async function pruneCheckpoints(owned: OwnedDir, keep: number): Promise<void> {
  const its = (await listCheckpoints(owned.dir)).filter((it) => owned.owns(checkpointName(it)));
  await removeCheckpoints(owned, its.slice(Math.max(1, keep)));
}

/** Removes our checkpoints of these iterations; returns how many files went. */
export async function removeCheckpoints(owned: OwnedDir, iterations: readonly number[]): Promise<number> {
  let files = 0;
  const gone: string[] = [];
  for (const it of iterations) {
    const name = checkpointName(it);
    if (!owned.owns(name)) continue;
    // Renamed out of the ckpt_* names first: a kill in the middle of the delete must not leave a
    // half-deleted checkpoint under a name that looks whole (the leftover temp name is cleared by
    // removeCheckpointTemps at the next start).
    const doomed = path.join(owned.dir, `.${name}.${process.pid}.prune`);
    if (
      !(await fs.rename(path.join(owned.dir, name), doomed).then(
        () => true,
        () => false,
      ))
    )
      continue;
    for (const f of CHECKPOINT_FILES)
      if (
        await fs.rm(path.join(doomed, f)).then(
          () => true,
          () => false,
        )
      )
        files++;
    // A file someone else put in our checkpoint keeps the folder (under its .prune name).
    await fs.rmdir(doomed).catch(() => undefined);
    gone.push(name);
  }
  await owned.forget(gone);
  return files;
}

/** Removes the temp directories of checkpoints a killed run was writing (exactly our names, dead writers only). */
export async function removeCheckpointTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = CHECKPOINT_TEMP.exec(n);
    if (m && !isAlive(Number(m[1]))) await removeOurFolder(path.join(dir, n), CHECKPOINT_FILES);
  }
}

/** A training step needs D and both optimisers, which `dcgan export` leaves out. */
export class ExportedGeneratorError extends UserError {
  constructor(dir: string) {
    super(`${dir} is an exported generator (weights only); resume from the run's checkpoint`);
  }
}

/** state.json, checked against tensors.bin's size (checkpoint-check.ts) before anything is built from it. */
export async function readCheckpointJson(ckptDir: string): Promise<CheckpointJson> {
  const file = path.join(ckptDir, 'state.json');
  let json: CheckpointJson;
  let bytes: number;
  try {
    json = (await readBoundedJson(file, MAX_STATE_BYTES)) as CheckpointJson;
    if (isGeneratorJson(json)) throw new ExportedGeneratorError(ckptDir);
    const bin = await fs.stat(path.join(ckptDir, 'tensors.bin'));
    if (!bin.isFile()) throw new Error('tensors.bin is not a regular file');
    bytes = bin.size;
  } catch (err) {
    if (err instanceof ExportedGeneratorError) throw err;
    throw new UserError(`${file}: cannot read checkpoint (${(err as Error).message.split('\n')[0]})`);
  }
  checkCheckpointJson(json, bytes, file, CHECKPOINT_VERSION);
  return json;
}

/** Rebuilds the exact training state a checkpoint holds. */
export async function loadCheckpoint(ckptDir: string): Promise<TrainState> {
  const json = await readCheckpointJson(ckptDir);
  const bin = await fs.readFile(path.join(ckptDir, 'tensors.bin'));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
  const fixedZ = all.slice(json.fixedZ.offset, json.fixedZ.offset + json.fixedZ.length);
  const fixedY = json.fixedY ? all.slice(json.fixedY.offset, json.fixedY.offset + json.fixedY.length) : null;
  const s = createState(
    json.config,
    json.seed,
    json.train,
    fixedZ,
    fixedY,
    json.datasetSize,
    json.recipe ?? SEED_RECIPE,
  );
  const byName = new Map(json.tensors.map((e) => [e.name, e]));
  for (const [name, v] of namedTensors(s)) {
    const e = byName.get(name);
    if (!e) {
      disposeState(s);
      throw new UserError(`${path.join(ckptDir, 'state.json')}: "tensors" has no ${name}; the checkpoint is damaged`);
    }
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (JSON.stringify(e.shape) !== JSON.stringify(v.shape) || e.offset + size > all.length) {
      disposeState(s);
      throw new UserError(
        `${path.join(ckptDir, 'state.json')}: tensor ${name} has shape [${e.shape.join(', ')}], the config needs [${v.shape.join(', ')}]; the checkpoint is damaged`,
      );
    }
    tf.tidy(() => v.assign(tf.tensor(all.subarray(e.offset, e.offset + size), v.shape, 'float32')));
  }
  s.optG.step = json.adamSteps.g;
  s.optD.step = json.adamSteps.d;
  s.iteration = json.iteration;
  return s;
}

/** The newest checkpoint that loads; a damaged newest one falls back to the one before. */
export async function loadLatestCheckpoint(
  dir: string,
): Promise<{ state: TrainState; path: string; skipped: string[] } | null> {
  const skipped: string[] = [];
  for (const it of await listCheckpoints(dir)) {
    const p = path.join(dir, checkpointName(it));
    try {
      return { state: await loadCheckpoint(p), path: p, skipped };
    } catch (err) {
      // An export among the checkpoints is no damaged checkpoint to skip past: it cannot be resumed at all.
      if (err instanceof ExportedGeneratorError) throw err;
      skipped.push(`${p}: ${(err as Error).message}`);
    }
  }
  return null;
}
