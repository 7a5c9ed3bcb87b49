/**
 * Poster-FID: the Fréchet distance between a classifier's penultimate-layer features of real
 * posters and of each saved grid's generated posters, so training progress is a number.
 *
 * The real set is split into two disjoint halves with a seed: half A is the reference every
 * grid is measured against; half B and uniform noise measure the scale (real vs real must be far
 * below real vs noise, or the features cannot tell posters apart). FID shrinks with sample size
 * and a grid has only rows x cols posters, so the report also gives real vs real at grid size:
 * the floor a perfect generator would reach with that many samples.
 */
import path from 'node:path';
import { splitGrid } from '../../core/images/grid.js';
import type { RgbImage } from '../../core/images/decode.js';
import type { PosterFidGrid, PosterFidResult } from '../../artifacts/fid-json.js';
import { createRng } from '../../core/random.js';
import { loadImage, type GridSource } from '../scoring/scan.js';
import { featureStats, frechetToReference, prepareReference, DEFAULT_EPS, type GaussianStats } from './frechet.js';
import { csvCell } from '../../core/escape.js';

export type FeatureFn = (images: RgbImage[]) => Promise<Float32Array[]>;

export interface PosterFidOptions {
  features: FeatureFn;
  realFiles: readonly string[];
  grids: readonly GridSource[];
  /** Noise images for the validation (0: skip). */
  noiseCount: number;
  noiseSize: { width: number; height: number };
  seed: number;
  eps?: number;
  batch?: number;
  /** Called for each real poster or grid left out, with why. */
  onSkip?: (file: string, reason: string) => void;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Uniform random RGB: the far end of every quality scale. */
export function noiseImage(width: number, height: number, rng: ReturnType<typeof createRng>): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, data };
}

export async function computePosterFid(o: PosterFidOptions): Promise<PosterFidResult> {
  const eps = o.eps ?? DEFAULT_EPS;
  const batch = o.batch ?? 32;
  const total = o.realFiles.length + o.noiseCount + o.grids.length;
  let done = 0;
  const skipped: string[] = [];

  // Real posters, in a seeded order so the halves are the same every run.
  const order = createRng(o.seed, 'fid-halves').shuffle([...o.realFiles]);
  const realFeats: Float32Array[] = [];
  for (let i = 0; i < order.length; i += batch) {
    const imgs: RgbImage[] = [];
    for (const f of order.slice(i, i + batch)) {
      try {
        imgs.push(await loadImage(f));
      } catch {
        skipped.push(f);
        o.onSkip?.(f, 'cannot decode');
      }
    }
    if (imgs.length) realFeats.push(...(await o.features(imgs)));
    done += Math.min(batch, order.length - i);
    o.onProgress?.(done, total, 'real');
  }
  if (realFeats.length < 4)
    throw new Error(`poster-FID needs at least 4 readable real posters, got ${realFeats.length}`);
  const half = Math.floor(realFeats.length / 2);
  const a = realFeats.slice(0, half);
  const b = realFeats.slice(half);
  const ref = prepareReference(featureStats(a), eps);
  const realVsReal = frechetToReference(ref, featureStats(b)).fid;

  const gridSize = o.grids.length
    ? o.grids[o.grids.length - 1]!.geometry.rows * o.grids[o.grids.length - 1]!.geometry.cols
    : null;
  const realVsRealAtGridSize =
    gridSize && gridSize >= 2 && b.length >= gridSize
      ? frechetToReference(ref, featureStats(b.slice(0, gridSize))).fid
      : null;

  let realVsNoise: number | null = null;
  if (o.noiseCount >= 2) {
    const rng = createRng(o.seed, 'fid-noise');
    const noiseFeats: Float32Array[] = [];
    for (let i = 0; i < o.noiseCount; i += batch) {
      const n = Math.min(batch, o.noiseCount - i);
      noiseFeats.push(
        ...(await o.features(Array.from({ length: n }, () => noiseImage(o.noiseSize.width, o.noiseSize.height, rng)))),
      );
      done += n;
      o.onProgress?.(done, total, 'noise');
    }
    realVsNoise = frechetToReference(ref, featureStats(noiseFeats)).fid;
  }

  const grids: PosterFidGrid[] = [];
  for (const g of o.grids) {
    let cells: RgbImage[];
    try {
      cells = splitGrid(await loadImage(g.file), g.geometry);
    } catch (err) {
      o.onSkip?.(g.file, (err as Error).message);
      o.onProgress?.(++done, total, 'grids');
      continue;
    }
    if (cells.length < 2) {
      o.onSkip?.(g.file, 'one poster has no covariance');
      o.onProgress?.(++done, total, 'grids');
      continue;
    }
    const feats: Float32Array[] = [];
    for (let i = 0; i < cells.length; i += batch) feats.push(...(await o.features(cells.slice(i, i + batch))));
    const st: GaussianStats = featureStats(feats);
    const r = frechetToReference(ref, st);
    grids.push({
      file: g.file,
      iteration: g.iteration,
      epoch: g.epoch,
      n: cells.length,
      fid: r.fid,
      meanTerm: r.meanTerm,
      covTerm: r.covTerm,
    });
    o.onProgress?.(++done, total, 'grids');
  }
  return {
    featureDim: ref.stats.dim,
    eps,
    real: { count: realFeats.length, reference: a.length, heldOut: b.length, skipped },
    validation: { realVsReal, realVsRealAtGridSize, gridSize, realVsNoise, noiseCount: o.noiseCount },
    grids,
  };
}

export function fidCsv(r: PosterFidResult): string {
  const lines = ['file,iteration,epoch,posters,fid,mean_term,cov_term'];
  for (const g of r.grids)
    lines.push(
      [path.basename(g.file), g.iteration, g.epoch, g.n, g.fid.toFixed(4), g.meanTerm.toFixed(4), g.covTerm.toFixed(4)]
        .map(csvCell)
        .join(','),
    );
  return lines.join('\n') + '\n';
}
