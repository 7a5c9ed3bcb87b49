/**
 * `dcgan export`: a training checkpoint (G, D, both Adam states, G's EMA, the grid latents) cut
 * down to the one set of weights sampling uses, so a model can be shipped (models/default/generator).
 * Written like a checkpoint: into a temp directory, renamed into place, listed as ours.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { UserError } from '../src/core/errors.js';
import { replaceDirAtomic, writeFileSynced } from '../src/core/fs/atomic-dir.js';
import { OwnedDir } from '../src/core/fs/ownership.js';
import { BEST_DIR } from '../src/artifacts/kid-log.js';
import { checkpointName, checkpointOrigin, listCheckpoints, loadCheckpoint } from './checkpoint.js';
import {
  type Dtype,
  GENERATOR_KIND,
  GENERATOR_VERSION,
  type GeneratorJson,
  isExportedGenerator,
} from './generator-file.js';
import { disposeState, samplingNetworks } from './state.js';

const FILES = ['state.json', 'tensors.bin'];

export interface ExportOptions {
  checkpoint: string;
  output: string;
  dtype: Dtype;
}

export interface ExportResult {
  source: string;
  /** Why that checkpoint: given, the run's best KID, or its newest. */
  picked: string;
  iteration: number;
  weights: GeneratorJson['weights'];
  dtype: Dtype;
  bytes: number;
  sourceBytes: number;
}

/**
 * A ckpt_* directory as given; a checkpoints directory or a training --output: the checkpoint
 * `--eval_every` kept as the lowest KID (<checkpoints>/best) when there is one, since that is the
 * one worth shipping, else the newest.
 */
export async function exportSource(p: string): Promise<{ dir: string; picked: string }> {
  if (await fs.stat(path.join(p, 'state.json')).catch(() => null)) {
    if (await isExportedGenerator(p))
      throw new UserError(`--checkpoint: ${p} is already an exported generator; export from the run's checkpoint`);
    return { dir: p, picked: 'as given' };
  }
  for (const dir of [p, path.join(p, 'checkpoints')]) {
    const best = path.join(dir, BEST_DIR);
    const [b] = await listCheckpoints(best);
    if (b !== undefined) return { dir: path.join(best, checkpointName(b)), picked: 'the lowest KID of --eval_every' };
    const [newest] = await listCheckpoints(dir);
    if (newest !== undefined) return { dir: path.join(dir, checkpointName(newest)), picked: 'the newest' };
  }
  throw new UserError(
    `--checkpoint: no checkpoint in ${p}; give a ckpt_* directory, a checkpoints directory or a dcgan train --output`,
  );
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * An existing output is replaced only when its parent's list names it, it holds nothing but our
 * two files, and those are an export (a training checkpoint is listed as ours too, and must survive).
 */
async function checkOutput(output: string): Promise<OwnedDir> {
  const parent = await OwnedDir.open(path.dirname(output));
  const st = await fs.lstat(output).catch(() => null);
  if (!st) return parent;
  const inside = st.isDirectory() ? await fs.readdir(output) : [];
  const foreign = inside.filter((n) => !FILES.includes(n));
  const ours = inside.length === 0 || (await isExportedGenerator(output));
  if (!st.isDirectory() || !parent.owns(path.basename(output)) || foreign.length || !ours)
    throw new UserError(
      `--output: ${output} exists and was not written by dcgan export${foreign.length ? ` (it holds ${foreign.slice(0, 3).join(', ')})` : ''}; it is never replaced: move it away or choose another path`,
    );
  return parent;
}

export async function exportGenerator(o: ExportOptions): Promise<ExportResult> {
  const output = path.resolve(o.output);
  const { dir: source, picked } = await exportSource(o.checkpoint);
  const parent = await checkOutput(output);
  const s = await loadCheckpoint(source);
  let json: GeneratorJson;
  let bytes: Uint8Array;
  try {
    const g = samplingNetworks(s).g;
    const tensors: GeneratorJson['tensors'] = [];
    let total = 0;
    for (const [k, v] of g) {
      tensors.push({ name: `g/${k}`, shape: v.shape, offset: total });
      total += v.size;
    }
    const values = new Float32Array(total);
    for (const [i, v] of [...g.values()].entries()) values.set(v.dataSync() as Float32Array, tensors[i]!.offset);
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0)
      throw new UserError(
        `--checkpoint: ${source} holds a non-finite weight (${values[bad]}); export an earlier checkpoint`,
      );
    if (o.dtype === 'float16') {
      // From 65520 up, float16 rounds to infinity (65504 is its largest finite value).
      if (values.some((x) => Math.abs(x) >= 65520))
        throw new UserError(
          `--precision: a weight of ${source} is beyond float16's range (65504); export with --precision fp32`,
        );
      bytes = new Uint8Array(new Float16Array(values).buffer);
    } else bytes = new Uint8Array(values.buffer);
    json = {
      kind: GENERATOR_KIND,
      version: GENERATOR_VERSION,
      iteration: s.iteration,
      config: s.net.config,
      recipe: s.recipe,
      weights: s.emaG ? 'ema' : 'g',
      dtype: o.dtype,
      grid: { rows: s.train.rows, cols: s.train.cols },
      tensors,
      // Named, not located: a local path would leak into every copy of a shipped export.
      source: { ...checkpointOrigin(source), tensorsSha256: await sha256(path.join(source, 'tensors.bin')) },
      exportedAt: new Date().toISOString(),
    };
  } finally {
    disposeState(s);
  }
  const name = path.basename(output);
  const tmp = path.join(path.dirname(output), `.${name}.${process.pid}.tmp`);
  await parent.claim([name]);
  await replaceDirAtomic({
    final: output,
    tmp,
    old: `${tmp}.old`,
    files: FILES,
    sync: true,
    async fill(t) {
      // tensors.bin first: a state.json always describes tensors that are already there.
      await writeFileSynced(path.join(t, 'tensors.bin'), bytes);
      await writeFileSynced(path.join(t, 'state.json'), JSON.stringify(json, null, 1) + '\n');
    },
  });
  return {
    source,
    picked,
    iteration: json.iteration,
    weights: json.weights,
    dtype: json.dtype,
    bytes: bytes.length,
    sourceBytes: (await fs.stat(path.join(source, 'tensors.bin'))).size,
  };
}
