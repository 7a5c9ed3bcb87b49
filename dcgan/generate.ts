/**
 * `dcgan generate`: posters from a trained generator, one PNG each plus a grid (with a sidecar,
 * so `classify` can score it), optionally conditioned on genres and a decade.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { writeSidecar } from '../src/artifacts/grid-sidecar.js';
import { writeFileAtomic } from '../src/core/fs/atomic.js';
import { foreignFilesError, OwnedDir } from '../src/core/fs/ownership.js';
import { encodePng, type RgbImage } from '../src/core/images/decode.js';
import { composeGrid } from '../src/core/images/grid.js';
import { tf } from '../engine/index.js';
import { listCheckpoints, checkpointName, loadCheckpoint } from './checkpoint.js';
import { conditionDim } from './config.js';
import { encodeCondition } from './data.js';
import type { BnMode } from './layers.js';
import { uniformLatent } from './latent.js';
import { generator } from './model.js';
import { GRID_GAP, meanPairwiseDistance, toImages } from './grids.js';

export { meanPairwiseDistance };
import { disposeState, samplingNetworks, type TrainState } from './state.js';

/** A checkpoint directory, a directory of them (newest), or a training output dir (its checkpoints/). */
export async function resolveCheckpoint(p: string): Promise<string> {
  const stat = await fs.stat(p).catch(() => null);
  if (!stat?.isDirectory()) throw new UserError(`--checkpoint: ${p} is not a directory (give a ckpt_* directory, a checkpoints directory or a training --output)`);
  if (await fs.stat(path.join(p, 'state.json')).catch(() => null)) return p;
  for (const dir of [p, path.join(p, 'checkpoints')]) {
    const its = await listCheckpoints(dir);
    if (its.length) return path.join(dir, checkpointName(its[0]!));
  }
  throw new UserError(`--checkpoint: no checkpoint in ${p}; train first (dcgan train) or point at a ckpt_* directory`);
}

export interface GenerateOptions {
  checkpoint: string;
  output: string;
  count: number;
  cols: number;
  seed: number;
  genres: string[];
  decade: number | null;
  bn: BnMode;
}

export interface GenerateResult {
  checkpoint: string;
  iteration: number;
  files: string[];
  grid: string;
  /** Mean pairwise L2 distance between the posters (pixels in [-1, 1]); near 0 means mode collapse. */
  diversity: number;
}

function conditions(s: TrainState, o: GenerateOptions, count: number): Float32Array | null {
  const vocab = s.net.config.condition;
  if (!vocab) {
    if (o.genres.length || o.decade !== null) throw new UserError('--genre/--decade need a conditional checkpoint (train with dcgan train --conditional)');
    return null;
  }
  const bad = o.genres.filter((g) => !vocab.genres.includes(g));
  if (bad.length) throw new UserError(`--genre: ${bad.join(', ')} not known to this model; valid: ${vocab.genres.join(', ')}`);
  if (o.decade !== null && !vocab.decades.includes(o.decade)) throw new UserError(`--decade: ${o.decade} not known to this model; valid: ${vocab.decades.join(', ')}`);
  const cd = conditionDim(s.net.config);
  const y = new Float32Array(count * cd);
  for (let i = 0; i < count; i++) encodeCondition(vocab, o.genres, o.decade === null ? null : o.decade, y, i * cd);
  return y;
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const ckpt = await resolveCheckpoint(o.checkpoint);
  const s = await loadCheckpoint(ckpt);
  try {
    const c = s.net.config;
    const y = conditions(s, o, o.count);
    const cd = conditionDim(c);
    const pixels = tf.tidy(() => {
      const z = tf.tensor2d(uniformLatent(o.seed, 'generate', o.count, c.zDim), [o.count, c.zDim]);
      return generator(samplingNetworks(s), z, y ? tf.tensor2d(y, [o.count, cd]) : null, o.bn).dataSync() as Float32Array;
    });
    const images = toImages(pixels, o.count, c.width, c.height);
    const posters = path.join(o.output, 'posters');
    const names = images.map((_, i) => `poster_${String(i + 1).padStart(4, '0')}.png`);
    const out = await OwnedDir.open(o.output);
    const own = await OwnedDir.open(posters);
    // Checked before anything is written: a user's grid.png or poster_0001.png is never replaced.
    const foreign = [...(await out.foreign(['grid.png', 'grid.json'])), ...(await own.foreign(names)).map((n) => `posters/${n}`)];
    if (foreign.length) throw foreignFilesError(o.output, foreign, 'dcgan generate', 'grid.png, grid.json and posters/poster_*.png', 'move them away or choose another --output');
    await out.claim(['posters', 'grid.png', 'grid.json']);
    await own.claim(names);
    const files: string[] = [];
    for (let i = 0; i < images.length; i++) {
      const f = path.join(posters, names[i]!);
      await writeFileAtomic(f, await encodePng(images[i]!));
      files.push(f);
    }
    const cols = Math.min(o.cols, o.count);
    const geometry = { rows: Math.ceil(o.count / cols), cols, cellWidth: c.width, cellHeight: c.height, gap: GRID_GAP };
    const grid = path.join(o.output, 'grid.png');
    await writeFileAtomic(grid, await encodePng(composeGrid(images, geometry)));
    await writeSidecar(grid, {
      iteration: s.iteration,
      epoch: null,
      ...geometry,
      losses: null,
      seed: o.seed,
      z_dim: c.zDim,
      checkpoint: ckpt,
      ...(c.condition ? { conditional: Array.from({ length: o.count }, () => ({ genres: o.genres, decade: o.decade })) } : {}),
    });
    return { checkpoint: ckpt, iteration: s.iteration, files, grid, diversity: meanPairwiseDistance(pixels, o.count) };
  } finally {
    disposeState(s);
  }
}

/**
 * `count` posters from the checkpoint's sampling networks (G's EMA when kept), in batches so
 * memory stays flat; `y` holds one condition row per poster for conditional models.
 */
export function sampleImages(s: TrainState, count: number, seed: number, purpose: string, bn: BnMode, y: Float32Array | null = null, batch = 100): RgbImage[] {
  const c = s.net.config;
  const cd = conditionDim(c);
  const z = uniformLatent(seed, purpose, count, c.zDim);
  const out: RgbImage[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const px = tf.tidy(() => {
      const zt = tf.tensor2d(z.subarray(i * c.zDim, (i + n) * c.zDim), [n, c.zDim]);
      const yt = y ? tf.tensor2d(y.subarray(i * cd, (i + n) * cd), [n, cd]) : null;
      return generator(samplingNetworks(s), zt, yt, bn).dataSync() as Float32Array;
    });
    out.push(...toImages(px, n, c.width, c.height));
  }
  return out;
}
