/**
 * `dcgan eval`: how close a generator's posters are to real ones, with one fixed feature
 * network. The real posters are decoded at the generator's size (so both sets go through the
 * same resize to the network's input) and split with a seed into two disjoint halves: half A is
 * the reference every generator is measured against, half B measures the floor (real vs real)
 * and uniform noise the ceiling, so a reader knows what the numbers mean.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { GenreShare, Metrics, Scale } from '../src/artifacts/eval-curve.js';
import { UserError } from '../src/core/errors.js';
import {
  featureStats,
  frechetToReference,
  prepareReference,
  type FrechetReference,
} from '../src/features/fid/frechet.js';
import type { FeatureNet } from '../src/features/fid/feature-net.js';
import {
  type FeatureSet,
  featureSet,
  kid,
  KID_MIN_SAMPLES,
  knnRadii,
  precisionRecall,
} from '../src/features/fid/kernel-metrics.js';
import { noiseImage } from '../src/features/fid/poster-fid.js';
import { loadRgb, type RgbImage } from '../src/core/images/decode.js';
import { createRng } from '../src/core/random.js';
import { listRealPosters } from '../src/features/scoring/real.js';
import { conditionDim } from './config.js';
import { readManifest } from '../src/artifacts/manifest.js';
import { encodeCondition } from './data.js';
import { sampleImages } from './generate.js';
import type { BnMode } from './layers.js';
import type { Networks } from './model.js';
import { samplingNetworks, type TrainState } from './state.js';

export const PR_K = 3;

export interface RealSet {
  dir: string;
  images: RgbImage[];
  /** Genres per image when the folder is a prepare-dcgan output (manifest.json), else null. */
  genres: string[][] | null;
  /** Years per image, likewise (null inside for a poster without one). */
  years: (number | null)[] | null;
  skipped: string[];
}

/** Every poster of `dir` (a manifest's list, or the image files in it) at width x height. */
export async function loadRealPosters(
  dir: string,
  width: number,
  height: number,
  log?: (line: string) => void,
): Promise<RealSet> {
  let files: { file: string; genres: string[] | null; year: number | null }[];
  const hasManifest = await fs.stat(path.join(dir, 'manifest.json')).then(
    () => true,
    () => false,
  );
  if (hasManifest) {
    files = (await readManifest(dir)).kept.map((e) => ({
      file: path.join(dir, e.file),
      genres: e.genres,
      year: e.year,
    }));
  } else {
    let list: string[];
    try {
      list = await listRealPosters(dir);
    } catch {
      throw new UserError(`--real: ${dir} is not a readable directory of posters`);
    }
    files = list.map((file) => ({ file, genres: null, year: null }));
  }
  const images: RgbImage[] = [];
  const genres: string[][] = [];
  const years: (number | null)[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    try {
      images.push(await loadRgb(f.file, width, height));
      genres.push(f.genres ?? []);
      years.push(f.year);
    } catch {
      skipped.push(f.file);
    }
  }
  if (skipped.length) log?.(`eval: skipped ${skipped.length} unreadable real posters (first: ${skipped[0]})`);
  const need = 2 * KID_MIN_SAMPLES;
  if (images.length < need) {
    throw new UserError(
      `--real: ${images.length} readable posters in ${dir}${skipped.length ? ` (${skipped.length} unreadable skipped)` : ''}; KID needs at least ${need} (${KID_MIN_SAMPLES} per half)`,
    );
  }
  return { dir, images, genres: hasManifest ? genres : null, years: hasManifest ? years : null, skipped };
}

export async function featuresOf(net: FeatureNet, images: readonly RgbImage[], batch = 64): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) out.push(...(await net.model.features(images.slice(i, i + batch))));
  return out;
}

/** Half A of the real features with what every comparison against it reuses. */
export interface Reference {
  set: FeatureSet;
  frechet: FrechetReference;
  radii: Float32Array;
}

export function compare(ref: Reference, feats: Float32Array[], seed: number): Metrics {
  const other = featureSet(feats);
  const k = kid(ref.set, other, { seed });
  const pr = precisionRecall(ref.set, other, PR_K, ref.radii);
  return {
    n: other.n,
    fid: frechetToReference(ref.frechet, featureStats(feats)).fid,
    kid: { mean: k.mean, std: k.std },
    precision: pr.precision,
    recall: pr.recall,
  };
}

/** Splits the real features into reference and held-out halves and measures the scale. */
export async function prepareScale(
  net: FeatureNet,
  real: RealSet,
  noiseCount: number,
  seed: number,
): Promise<{ ref: Reference; scale: Scale }> {
  const feats = await featuresOf(net, real.images);
  const order = createRng(seed, 'eval-halves').shuffle(feats.map((_, i) => i));
  const half = Math.floor(order.length / 2);
  const a = order.slice(0, half).map((i) => feats[i]!);
  const b = order.slice(half).map((i) => feats[i]!);
  const set = featureSet(a);
  const ref: Reference = { set, frechet: prepareReference(featureStats(a)), radii: knnRadii(set, PR_K) };
  const { width, height } = real.images[0]!;
  const rng = createRng(seed, 'eval-noise');
  const noise = await featuresOf(
    net,
    Array.from({ length: noiseCount }, () => noiseImage(width, height, rng)),
  );
  return {
    ref,
    scale: {
      reference: a.length,
      heldOut: b.length,
      realVsReal: compare(ref, b, seed),
      noise: compare(ref, noise, seed),
    },
  };
}

function threshold(net: FeatureNet, genre: string): number {
  const t = net.model.metadata?.thresholds;
  const j = net.model.genres.indexOf(genre);
  return Array.isArray(t) && typeof t[j] === 'number' ? (t[j] as number) : 0.5;
}

async function shareIn(net: FeatureNet, images: RgbImage[], genre: string): Promise<number | null> {
  if (!images.length || !net.model.genres.includes(genre)) return null;
  const scores = await net.model.score(images);
  return scores.filter((s) => s[genre]! >= threshold(net, genre)).length / images.length;
}

/** Checks --genres against a conditional checkpoint; empty = all of its genres. */
export function checkGenres(g: Networks, genres: readonly string[]): string[] {
  const vocab = g.config.condition;
  if (!vocab) {
    if (genres.length)
      throw new UserError('--genres needs a conditional checkpoint (trained with dcgan train --conditional)');
    return [];
  }
  const bad = genres.filter((g) => !vocab.genres.includes(g));
  if (bad.length)
    throw new UserError(`--genres: ${bad.join(', ')} not known to this model; valid: ${vocab.genres.join(', ')}`);
  return genres.length ? [...genres] : vocab.genres;
}

export async function genreShares(
  net: FeatureNet,
  gen: Networks,
  real: RealSet,
  genres: string[],
  count: number,
  seed: number,
  bn: BnMode,
): Promise<GenreShare[]> {
  const out: GenreShare[] = [];
  const cd = conditionDim(gen.config);
  for (const g of genres) {
    const y = new Float32Array(count * cd);
    for (let i = 0; i < count; i++) encodeCondition(gen.config.condition!, [g], null, y, i * cd);
    const fake = sampleImages(gen, count, seed, `eval-genre:${g}`, bn, y);
    const realOf = real.genres ? real.images.filter((_, i) => real.genres![i]!.includes(g)) : [];
    out.push({
      genre: g,
      generated: await shareIn(net, fake, g),
      real: real.genres ? await shareIn(net, realOf, g) : null,
    });
  }
  return out;
}

/**
 * Conditions for a conditional model's overall score: each poster gets the genres and decade of
 * a real poster picked with the seed, so the generated mix follows the real one; without a
 * manifest (no labels) every condition is empty (no genre, no decade).
 */
function realConditions(g: Networks, real: RealSet, count: number, seed: number): Float32Array | null {
  const vocab = g.config.condition;
  if (!vocab) return null;
  const cd = conditionDim(g.config);
  const y = new Float32Array(count * cd);
  if (!real.genres || !real.years) return y;
  const rng = createRng(seed, 'eval-conditions');
  for (let i = 0; i < count; i++) {
    const j = rng.int(real.images.length);
    encodeCondition(vocab, real.genres[j]!, real.years[j]!, y, i * cd);
  }
  return y;
}

/** Real posters were decoded at the generator's size; the network resizes both sets alike. */
export async function evaluateState(
  net: FeatureNet,
  ref: Reference,
  gen: Networks,
  real: RealSet,
  count: number,
  seed: number,
  bn: BnMode,
): Promise<Metrics> {
  return compare(
    ref,
    await featuresOf(net, sampleImages(gen, count, seed, 'eval', bn, realConditions(gen, real, count, seed))),
    seed,
  );
}

/**
 * The cheap in-training signal of --eval_every: KID of `count` posters against the real
 * features (fewer subsets than eval; the same network, so the numbers are on eval's scale).
 */
export function kidScorer(
  net: FeatureNet,
  realDir: string,
  count: number,
  seed: number,
): (s: TrainState) => Promise<{ mean: number; std: number }> {
  let real: RealSet | null = null;
  let ref: FeatureSet | null = null;
  return async (s) => {
    // Decoded at the generator's size, known for sure only once the (resumed) state exists.
    real ??= await loadRealPosters(realDir, s.net.config.width, s.net.config.height);
    ref ??= featureSet(await featuresOf(net, real.images));
    const gen = samplingNetworks(s);
    const fake = featureSet(
      await featuresOf(
        net,
        sampleImages(gen, count, seed, 'eval-every', 'batch', realConditions(gen, real, count, seed)),
      ),
    );
    const k = kid(ref, fake, { seed, subsets: 50, subsetSize: count });
    return { mean: k.mean, std: k.std };
  };
}
