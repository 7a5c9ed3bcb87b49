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
import { listCheckpoints, checkpointName, checkpointOrigin, loadCheckpoint } from './checkpoint.js';
import { conditionDim, type ConditionVocab, type ModelConfig } from './config.js';
import { encodeCondition } from './data.js';
import type { BnMode } from './layers.js';
import { uniformLatent } from './latent.js';
import { disposeNetworks, generator, type Networks } from './model.js';
import { isExportedGenerator, loadExportedGenerator } from './generator-file.js';
import { GRID_GAP, meanPairwiseDistance, toImages } from './grids.js';

export { meanPairwiseDistance };
import { disposeState, samplingNetworks } from './state.js';

/** A checkpoint directory, a directory of them (newest), or a training output dir (its checkpoints/). */
export async function resolveCheckpoint(p: string): Promise<string> {
  const stat = await fs.stat(p).catch(() => null);
  if (!stat?.isDirectory())
    throw new UserError(
      `--checkpoint: ${p} is not a directory (give a ckpt_* directory, a checkpoints directory or a training --output)`,
    );
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

/** Condition rows for `count` posters, or null for an unconditional model (then none may be asked for). */
function conditions(
  config: ModelConfig,
  genres: readonly string[],
  decade: number | null,
  count: number,
): Float32Array | null {
  const vocab = config.condition;
  if (!vocab) {
    if (genres.length || decade !== null)
      throw new UserError('--genre/--decade need a conditional checkpoint (train with dcgan train --conditional)');
    return null;
  }
  const bad = genres.filter((g) => !vocab.genres.includes(g));
  if (bad.length)
    throw new UserError(`--genre: ${bad.join(', ')} not known to this model; valid: ${vocab.genres.join(', ')}`);
  if (decade !== null && !vocab.decades.includes(decade))
    throw new UserError(`--decade: ${decade} not known to this model; valid: ${vocab.decades.join(', ')}`);
  const cd = conditionDim(config);
  const y = new Float32Array(count * cd);
  for (let i = 0; i < count; i++) encodeCondition(vocab, genres, decade, y, i * cd);
  return y;
}

/** A loaded generator: posters from latent rows, for `dcgan generate` and `poster-studio serve`. */
export interface PosterGenerator {
  checkpoint: string;
  /** Where the weights came from, without the local path (Sampler.name). */
  name: string;
  iteration: number;
  zDim: number;
  width: number;
  height: number;
  condition: ConditionVocab | null;
  /** The latent rows `dcgan generate --seed` draws: row i is poster i, whatever the count. */
  latent(seed: number, count: number): Float32Array;
  /** One poster per row of z (count x zDim, in [-1, 1]), all under one condition; pixels in [-1, 1]. */
  pixels(z: Float32Array, genres: readonly string[], decade: number | null): Float32Array;
  render(z: Float32Array, genres: readonly string[], decade: number | null): RgbImage[];
  dispose(): void;
}

/** What sampling needs from a training checkpoint or an exported generator (`dcgan export`). */
export interface Sampler {
  dir: string;
  /** `<run folder>/checkpoints/ckpt_001230`: a checkpoint's own, an export's source's (checkpointOrigin). */
  name: string;
  iteration: number;
  /** G's moving average when the checkpoint keeps one (small-data recipe), else G: what grids and eval show too. */
  net: Networks;
  dispose(): void;
}

const originName = (o: { run: string; checkpoint: string }): string => `${o.run}/${o.checkpoint}`;

/** A checkpoint directory or an exported generator's, loaded for sampling only. */
export async function openSampler(dir: string): Promise<Sampler> {
  if (await isExportedGenerator(dir)) {
    const g = await loadExportedGenerator(dir);
    const { run, checkpoint } = g.json.source;
    // An older export recorded the absolute path of its source instead of its run's name.
    return {
      dir,
      name: originName(run === undefined ? checkpointOrigin(checkpoint) : { run, checkpoint }),
      iteration: g.json.iteration,
      net: g.net,
      dispose: () => disposeNetworks(g.net),
    };
  }
  const s = await loadCheckpoint(dir);
  return {
    dir,
    name: originName(checkpointOrigin(dir)),
    iteration: s.iteration,
    net: samplingNetworks(s),
    dispose: () => disposeState(s),
  };
}

export async function openGenerator(checkpoint: string, bn: BnMode): Promise<PosterGenerator> {
  const ckpt = await resolveCheckpoint(checkpoint);
  const s = await openSampler(ckpt);
  const c = s.net.config;
  const cd = conditionDim(c);
  const pixels = (z: Float32Array, genres: readonly string[], decade: number | null): Float32Array => {
    const count = z.length / c.zDim;
    if (!Number.isInteger(count) || count < 1) throw new Error(`latent of ${z.length} values is not rows of ${c.zDim}`);
    const y = conditions(c, genres, decade, count);
    return tf.tidy(
      () =>
        generator(
          s.net,
          tf.tensor2d(z, [count, c.zDim]),
          y ? tf.tensor2d(y, [count, cd]) : null,
          bn,
        ).dataSync() as Float32Array,
    );
  };
  return {
    checkpoint: ckpt,
    name: s.name,
    iteration: s.iteration,
    zDim: c.zDim,
    width: c.width,
    height: c.height,
    condition: c.condition,
    latent: (seed, count) => uniformLatent(seed, 'generate', count, c.zDim),
    pixels,
    render: (z, genres, decade) => toImages(pixels(z, genres, decade), z.length / c.zDim, c.width, c.height),
    dispose: () => s.dispose(),
  };
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const g = await openGenerator(o.checkpoint, o.bn);
  try {
    const pixels = g.pixels(g.latent(o.seed, o.count), o.genres, o.decade);
    const images = toImages(pixels, o.count, g.width, g.height);
    const posters = path.join(o.output, 'posters');
    const names = images.map((_, i) => `poster_${String(i + 1).padStart(4, '0')}.png`);
    const out = await OwnedDir.open(o.output);
    const own = await OwnedDir.open(posters);
    // Checked before anything is written: a user's grid.png or poster_0001.png is never replaced.
    const foreign = [
      ...(await out.foreign(['grid.png', 'grid.json'])),
      ...(await own.foreign(names)).map((n) => `posters/${n}`),
    ];
    if (foreign.length)
      throw foreignFilesError(
        o.output,
        foreign,
        'dcgan generate',
        'grid.png, grid.json and posters/poster_*.png',
        'move them away or choose another --output',
      );
    await out.claim(['posters', 'grid.png', 'grid.json']);
    await own.claim(names);
    const files: string[] = [];
    for (let i = 0; i < images.length; i++) {
      const f = path.join(posters, names[i]!);
      await writeFileAtomic(f, await encodePng(images[i]!));
      files.push(f);
    }
    const cols = Math.min(o.cols, o.count);
    const geometry = { rows: Math.ceil(o.count / cols), cols, cellWidth: g.width, cellHeight: g.height, gap: GRID_GAP };
    const grid = path.join(o.output, 'grid.png');
    await writeFileAtomic(grid, await encodePng(composeGrid(images, geometry)));
    await writeSidecar(grid, {
      iteration: g.iteration,
      epoch: null,
      ...geometry,
      losses: null,
      seed: o.seed,
      z_dim: g.zDim,
      checkpoint: g.checkpoint,
      ...(g.condition
        ? { conditional: Array.from({ length: o.count }, () => ({ genres: o.genres, decade: o.decade })) }
        : {}),
    });
    return {
      checkpoint: g.checkpoint,
      iteration: g.iteration,
      files,
      grid,
      diversity: meanPairwiseDistance(pixels, o.count),
    };
  } finally {
    g.dispose();
  }
}

/**
 * `count` posters from sampling networks (Sampler.net, samplingNetworks), in batches so memory
 * stays flat; `y` holds one condition row per poster for conditional models.
 */
export function sampleImages(
  net: Networks,
  count: number,
  seed: number,
  purpose: string,
  bn: BnMode,
  y: Float32Array | null = null,
  batch = 100,
): RgbImage[] {
  const c = net.config;
  const cd = conditionDim(c);
  const z = uniformLatent(seed, purpose, count, c.zDim);
  const out: RgbImage[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const px = tf.tidy(() => {
      const zt = tf.tensor2d(z.subarray(i * c.zDim, (i + n) * c.zDim), [n, c.zDim]);
      const yt = y ? tf.tensor2d(y.subarray(i * cd, (i + n) * cd), [n, cd]) : null;
      return generator(net, zt, yt, bn).dataSync() as Float32Array;
    });
    out.push(...toImages(px, n, c.width, c.height));
  }
  return out;
}
