/**
 * The classifier's view of the dataset: the shared CSV/filters/split, posters decoded once at the
 * model's input size and kept in memory (a process that trains several versions, as `compare`
 * does, decodes each poster once), multi-hot labels over the selected genres.
 */
import { createHash } from 'node:crypto';
import {
  applyFilter,
  indexPosters,
  readMovieCsv,
  seedSplit,
  sizeAtRatio,
  type Movie,
  type SplitName,
} from '../src/core/dataset/index.js';
import { loadRgb } from '../src/core/images/decode.js';
import { createProgress } from '../src/core/progress.js';
import { mapLimit } from '../src/core/map-limit.js';

export interface Example {
  movie: Movie;
  file: string;
  /** RGB bytes at the model's input size. */
  image: Uint8Array;
  /** Multi-hot over the selected genres. */
  labels: Uint8Array;
}

export interface DataOptions {
  csv: string;
  data: string;
  genres: string[];
  ratio: number;
  minYear?: number;
  maxYear?: number;
  /** Use only the first N eligible movies (CSV order) before splitting: quick runs and tests. */
  limit?: number;
  splits?: SplitName[];
  concurrency?: number;
  quiet?: boolean;
}

export interface ClassifierData {
  genres: string[];
  width: number;
  height: number;
  splits: Partial<Record<SplitName, Example[]>>;
  /** Movies per split before decoding (what the split holds). */
  counts: Record<SplitName, number>;
  skipped: { file: string; reason: string }[];
  fingerprint: string;
}

const cache = new Map<string, Uint8Array>();

export function labelsOf(m: Movie, genres: readonly string[]): Uint8Array {
  return Uint8Array.from(genres, (g) => (m.genres.includes(g) ? 1 : 0));
}

/** The movies the classifier trains on: filtered, with a poster and at least one selected genre, each id once. */
export function eligibleMovies(o: Pick<DataOptions, 'csv' | 'data' | 'genres' | 'minYear' | 'maxYear' | 'limit'>): {
  movies: Movie[];
  posters: Map<number, string>;
} {
  const table = readMovieCsv(o.csv);
  const posters = indexPosters(o.data);
  const seen = new Set<number>();
  const movies = applyFilter(table.movies, { minYear: o.minYear, maxYear: o.maxYear }).filter((m) => {
    if (seen.has(m.imdbId) || !posters.has(m.imdbId) || !m.genres.some((g) => o.genres.includes(g))) return false;
    seen.add(m.imdbId);
    return true;
  });
  return { movies: o.limit ? movies.slice(0, o.limit) : movies, posters };
}

/** Hash of every split's ids and labels: two runs with the same fingerprint saw the same data. */
export function fingerprint(split: Record<SplitName, Movie[]>, genres: readonly string[]): string {
  const h = createHash('sha256');
  h.update(genres.join(',') + '\n');
  for (const s of ['train', 'validation', 'test'] as const) {
    for (const m of split[s]) h.update(`${s}:${m.imdbId}:${labelsOf(m, genres).join('')}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

export async function loadClassifierData(o: DataOptions): Promise<ClassifierData> {
  const { width, height } = sizeAtRatio(o.ratio);
  const { movies, posters } = eligibleMovies(o);
  const split = seedSplit(movies);
  const wanted = o.splits ?? ['train', 'validation', 'test'];
  const todo = wanted.flatMap((s) => split[s].map((m) => ({ s, m })));
  const skipped: { file: string; reason: string }[] = [];
  const progress = o.quiet ? null : createProgress(`decode ${width}x${height}`, todo.length);
  let done = 0;
  const decoded = await mapLimit(todo, o.concurrency ?? 4, async ({ m }) => {
    const file = posters.get(m.imdbId)!;
    const key = `${file}@${width}x${height}`;
    let image = cache.get(key) ?? null;
    if (!image) {
      try {
        image = (await loadRgb(file, width, height)).data;
        cache.set(key, image);
      } catch (err) {
        skipped.push({ file, reason: (err as Error).message });
      }
    }
    progress?.update(++done);
    return image;
  });
  progress?.stop();
  const splits: Partial<Record<SplitName, Example[]>> = {};
  for (const s of wanted) splits[s] = [];
  todo.forEach(({ s, m }, i) => {
    const image = decoded[i];
    if (image) splits[s]!.push({ movie: m, file: posters.get(m.imdbId)!, image, labels: labelsOf(m, o.genres) });
  });
  return {
    genres: o.genres,
    width,
    height,
    splits,
    counts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    skipped,
    fingerprint: fingerprint(split, o.genres),
  };
}

/** Row-major n x k labels of a list of examples. */
export function labelMatrix(examples: readonly Example[], k: number): Uint8Array {
  const out = new Uint8Array(examples.length * k);
  examples.forEach((e, i) => out.set(e.labels, i * k));
  return out;
}
