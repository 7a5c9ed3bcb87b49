/**
 * POST /api/generate, /api/neighbours, /api/interpolate: posters from the generator, each with
 * the classifier's top genres and a file name that says how to make it again (seed, index,
 * condition). Poster i of seed s is row i of the latent `dcgan generate --seed s` draws.
 */
import { randomInt } from 'node:crypto';
import { encodePng, type RgbImage } from '../../core/images/decode.js';
import { createRng } from '../../core/random.js';
import { HttpError } from './http-error.js';
import type { StudioGenerator, StudioModels } from './models.js';

export const MAX_COUNT = 32;
const MAX_SEED = 2 ** 31 - 1;

interface Condition {
  genres: string[];
  decade: number | null;
}

interface PosterJson {
  /** PNG as a data: URI (the page shows and downloads it as is). */
  png: string;
  file: string;
  top: { genre: string; score: number }[];
  seed?: number;
  index?: number;
}

function intField(body: Record<string, unknown>, name: string, min: number, max: number, fallback?: number): number {
  const v = body[name];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new HttpError(400, `${name} is required: a whole number from ${min} to ${max}`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HttpError(
      400,
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v).slice(0, 40)}`,
    );
  }
  return v;
}

function numberField(body: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const v = body[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new HttpError(400, `${name} must be a number from ${min} to ${max}, got ${JSON.stringify(v).slice(0, 40)}`);
  return v;
}

function condition(g: StudioGenerator, body: Record<string, unknown>): Condition {
  const genres = body.genres ?? [];
  const decade = body.decade ?? null;
  if (!Array.isArray(genres) || !genres.every((x) => typeof x === 'string'))
    throw new HttpError(400, 'genres must be a list of genre names');
  const vocab = g.condition;
  if (!vocab) {
    if (genres.length || decade !== null)
      throw new HttpError(400, 'this generator is not conditional: leave genres empty and decade null');
    return { genres: [], decade: null };
  }
  const bad = (genres as string[]).filter((x) => !vocab.genres.includes(x));
  if (bad.length)
    throw new HttpError(
      400,
      `unknown genre ${bad.map((b) => JSON.stringify(b.slice(0, 40))).join(', ')}; this model knows ${vocab.genres.join(', ')}`,
    );
  if (decade !== null && (typeof decade !== 'number' || !vocab.decades.includes(decade))) {
    throw new HttpError(
      400,
      `unknown decade ${JSON.stringify(decade).slice(0, 40)}; this model knows ${vocab.decades.join(', ')} (or null)`,
    );
  }
  return { genres: [...new Set(genres as string[])], decade: decade as number | null };
}

const conditionTag = (c: Condition): string =>
  (c.genres.length ? `_${c.genres.map((g) => g.replace(/[^A-Za-z0-9-]/g, '')).join('+')}` : '') +
  (c.decade !== null ? `_${c.decade}s` : '');

function requireGenerator(m: StudioModels): StudioGenerator {
  if (!m.generator)
    throw new HttpError(409, 'no generator is loaded: start serve with --checkpoint <dcgan checkpoint>');
  return m.generator;
}

async function posters(m: StudioModels, images: RgbImage[], files: string[]): Promise<PosterJson[]> {
  const scores = m.classifier ? await m.classifier.score(images) : null;
  return Promise.all(
    images.map(async (img, i) => ({
      png: `data:image/png;base64,${(await encodePng(img)).toString('base64')}`,
      file: files[i]!,
      top: scores
        ? Object.entries(scores[i]!)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([genre, score]) => ({ genre, score: Number(score.toFixed(4)) }))
        : [],
    })),
  );
}

/** Row `index` of seed's latent, alone. */
function row(g: StudioGenerator, seed: number, index: number): Float32Array {
  return g.latent(seed, index + 1).slice(index * g.zDim);
}

export function generatePosters(m: StudioModels, body: Record<string, unknown>) {
  const g = requireGenerator(m);
  const count = intField(body, 'count', 1, MAX_COUNT);
  const seed =
    body.seed === undefined || body.seed === null ? randomInt(MAX_SEED) : intField(body, 'seed', 0, MAX_SEED);
  const c = condition(g, body);
  return async () => {
    const images = g.render(g.latent(seed, count), c.genres, c.decade);
    const files = images.map((_, i) => `poster_seed-${seed}_n-${i + 1}${conditionTag(c)}.png`);
    const out = await posters(m, images, files);
    return { seed, ...c, posters: out.map((p, i) => ({ ...p, seed, index: i })) };
  };
}

/** Posters near one: its latent row plus seeded Gaussian steps of size `spread`, kept in [-1, 1]. */
export function neighbourPosters(m: StudioModels, body: Record<string, unknown>) {
  const g = requireGenerator(m);
  const seed = intField(body, 'seed', 0, MAX_SEED);
  const index = intField(body, 'index', 0, MAX_COUNT - 1);
  const count = intField(body, 'count', 1, 16, 6);
  const spread = numberField(body, 'spread', 0, 2, 0.3);
  const c = condition(g, body);
  return async () => {
    const z0 = row(g, seed, index);
    const z = new Float32Array(count * g.zDim);
    for (let k = 0; k < count; k++) {
      const rng = createRng(`${seed}:${index}`, `near:${k}`);
      for (let j = 0; j < g.zDim; j++) z[k * g.zDim + j] = Math.max(-1, Math.min(1, z0[j]! + spread * rng.normal()));
    }
    const images = g.render(z, c.genres, c.decade);
    const files = images.map(
      (_, k) => `poster_seed-${seed}_n-${index + 1}_near-${k + 1}_spread-${spread}${conditionTag(c)}.png`,
    );
    return { seed, index, spread, ...c, posters: await posters(m, images, files) };
  };
}

/** A straight line in latent space from one poster to another, both ends included. */
export function interpolatePosters(m: StudioModels, body: Record<string, unknown>) {
  const g = requireGenerator(m);
  const end = (name: 'from' | 'to') => {
    const v = body[name];
    if (!v || typeof v !== 'object' || Array.isArray(v))
      throw new HttpError(400, `${name} must be {"seed": n, "index": i}`);
    const o = v as Record<string, unknown>;
    return { seed: intField(o, 'seed', 0, MAX_SEED), index: intField(o, 'index', 0, MAX_COUNT - 1) };
  };
  const a = end('from');
  const b = end('to');
  const steps = intField(body, 'steps', 2, 16, 8);
  const c = condition(g, body);
  return async () => {
    const za = row(g, a.seed, a.index);
    const zb = row(g, b.seed, b.index);
    const z = new Float32Array(steps * g.zDim);
    for (let k = 0; k < steps; k++) {
      const t = k / (steps - 1);
      for (let j = 0; j < g.zDim; j++) z[k * g.zDim + j] = (1 - t) * za[j]! + t * zb[j]!;
    }
    const images = g.render(z, c.genres, c.decade);
    const files = images.map(
      (_, k) =>
        `poster_seed-${a.seed}_n-${a.index + 1}_to_seed-${b.seed}_n-${b.index + 1}_t-${(k / (steps - 1)).toFixed(2)}${conditionTag(c)}.png`,
    );
    return { from: a, to: b, ...c, posters: await posters(m, images, files) };
  };
}
