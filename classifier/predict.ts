/**
 * Genre prediction for poster files, printed the seed's way:
 *   The Matrix (1999)  ['Action: 91%', 'Drama[!]: 25%']
 * [!] marks a listed genre the movie does not have, when the truth is known (file named
 * <imdbId>.jpg and found in the CSV).
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { displayTitle, type Movie } from '../src/core/dataset/index.js';
import { loadRgb, type RgbImage } from '../src/core/images/decode.js';
import type { Classifier } from '../src/artifacts/classifier-model.js';
import { predictRidge, type Extras, type RidgeHead } from './extras.js';
import { csvCell } from '../src/core/escape.js';

export const POSTER_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

export interface Prediction {
  file: string;
  title: string;
  scores: Record<string, number>;
  /** The movie's genres when known. */
  truth: string[] | null;
  /** The year and IMDB-score heads' predictions, when the model has them. */
  extras?: { year?: number; score?: number };
}

/** A model's year and score heads with their validation mean absolute errors. */
export interface ExtraHeads {
  year: { head: RidgeHead; mae: number } | null;
  score: { head: RidgeHead; mae: number } | null;
}

export function extraHeads(c: Classifier): ExtraHeads {
  const e = c.meta.extras as Partial<Extras> | undefined;
  const pick = (h: Extras['year'] | Extras['score'] | undefined) => (h?.head ? { head: h.head, mae: h.mae } : null);
  return { year: pick(e?.year), score: pick(e?.score) };
}

/** The heads as one function of an image's features, each value beside its validation MAE (null: no heads). */
export function headsPredictor(h: ExtraHeads):
  | ((features: Float32Array) => {
      year: { value: number; mae: number } | null;
      imdb: { value: number; mae: number } | null;
    })
  | null {
  if (!h.year && !h.score) return null;
  return (f) => ({
    year: h.year ? { value: predictRidge(h.year.head, f), mae: h.year.mae } : null,
    imdb: h.score ? { value: predictRidge(h.score.head, f), mae: h.score.mae } : null,
  });
}

/** `year 1997 (±6.4)  IMDB 6.8 (±0.84)`: predictions beside their validation MAE. */
export function formatExtrasOf(p: Prediction, h: ExtraHeads): string {
  const parts: string[] = [];
  if (p.extras?.year !== undefined && h.year)
    parts.push(`year ${Math.round(p.extras.year)} (±${h.year.mae.toFixed(1)})`);
  if (p.extras?.score !== undefined && h.score)
    parts.push(`IMDB ${p.extras.score.toFixed(1)} (±${h.score.mae.toFixed(2)})`);
  return parts.length ? `  ${parts.join('  ')}` : '';
}

export interface FormatOptions {
  /** Pad titles to this width so the genre lists line up (the seed's tests.py columns). */
  titleWidth?: number;
  /** Also mark the right genres, [o], beside the wrong ones, [!]. */
  markRight?: boolean;
}

/** Genres by score, highest first: the top `top` (all when 0), plus any over its threshold. */
export function formatPrediction(
  p: Prediction,
  thresholds: Record<string, number> = {},
  top = 3,
  o: FormatOptions = {},
): string {
  const sorted = Object.entries(p.scores).sort((a, b) => b[1] - a[1]);
  const shown = sorted.filter(
    ([g, s], i) => top === 0 || i < top || (thresholds[g] !== undefined && s >= thresholds[g]!),
  );
  const mark = (g: string): string => (!p.truth ? '' : !p.truth.includes(g) ? '[!]' : o.markRight ? '[o]' : '');
  const items = shown.map(([g, s]) => `'${g}${mark(g)}: ${Math.round(100 * s)}%'`);
  return `${p.title.padEnd(o.titleWidth ?? 0)}  [${items.join(', ')}]`;
}

/** The width that lines up every title of a list (at most 40 characters; longer ones push their row). */
export const titleWidth = (preds: readonly Pick<Prediction, 'title'>[]): number =>
  Math.min(40, Math.max(0, ...preds.map((p) => p.title.length)));

/** Image files named by the inputs (directories are listed, not recursed), in a stable order. */
export async function listImages(inputs: readonly string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) {
      missing.push(input);
      continue;
    }
    if (statSync(input).isDirectory()) {
      const names = (await fs.readdir(input))
        .filter((n) => POSTER_EXTENSIONS.has(path.extname(n).toLowerCase()))
        .sort();
      files.push(...names.map((n) => path.join(input, n)));
    } else files.push(input);
  }
  return { files, missing };
}

export function movieForFile(file: string, byId: Map<number, Movie> | null): Movie | null {
  const m = /^(\d+)$/.exec(path.basename(file, path.extname(file)));
  return m && byId ? (byId.get(Number(m[1])) ?? null) : null;
}

export interface PredictOptions {
  byId: Map<number, Movie> | null;
  /** Files whose movie is already known (classify --movie). */
  movies?: Map<string, Movie>;
  batch?: number;
  onSkip?: (file: string, reason: string) => void;
  onProgress?: (done: number) => void;
}

/** Scores every file that decodes; the rest are reported through onSkip and left out. */
export async function predictFiles(c: Classifier, files: readonly string[], o: PredictOptions): Promise<Prediction[]> {
  const out: Prediction[] = [];
  const batch = o.batch ?? 32;
  for (let i = 0; i < files.length; i += batch) {
    const chunk = files.slice(i, i + batch);
    const ok: { file: string; img: RgbImage }[] = [];
    for (const file of chunk) {
      try {
        ok.push({ file, img: await loadRgb(file, c.width, c.height) });
      } catch (err) {
        o.onSkip?.(file, (err as Error).message);
      }
    }
    const scores = await c.score(ok.map((x) => x.img));
    const heads = extraHeads(c);
    const feats = heads.year || heads.score ? await c.features(ok.map((x) => x.img)) : null;
    ok.forEach(({ file }, j) => {
      const movie = o.movies?.get(file) ?? movieForFile(file, o.byId);
      out.push({
        file,
        title: movie ? displayTitle(movie) : path.basename(file),
        scores: Object.fromEntries(c.genres.map((g) => [g, Number(scores[j]![g]!.toFixed(4))])),
        truth: movie ? movie.genres : null,
        ...(feats
          ? {
              extras: {
                ...(heads.year ? { year: predictRidge(heads.year.head, feats[j]!) } : {}),
                ...(heads.score ? { score: predictRidge(heads.score.head, feats[j]!) } : {}),
              },
            }
          : {}),
      });
    });
    o.onProgress?.(Math.min(files.length, i + batch));
  }
  return out;
}

export function predictionsCsv(preds: readonly Prediction[], genres: readonly string[]): string {
  const lines = [['file', 'title', ...genres].map(csvCell).join(',')];
  for (const p of preds)
    lines.push([p.file, p.title, ...genres.map((g) => p.scores[g] ?? null)].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

export function predictionsJson(preds: readonly Prediction[]): string {
  return (
    JSON.stringify(
      preds.map((p) => ({
        file: p.file,
        title: p.title,
        scores: p.scores,
        ...(p.extras ? { predicted: p.extras } : {}),
      })),
      null,
      2,
    ) + '\n'
  );
}

const bare = (t: string): string =>
  t
    .replace(/\s*\(\d{4}\)\s*$/, '')
    .trim()
    .toLowerCase();

/**
 * `--movie`: an imdbId (or tt0133093), a title with its year ("The Matrix (1999)") or a bare
 * title when only one movie carries it; the poster must be in `posters`.
 */
export function findMovie(
  query: string,
  movies: readonly Movie[],
  posters: ReadonlyMap<number, string>,
): { movie: Movie; file: string } {
  const q = query.trim();
  const id = /^(?:tt)?(\d+)$/i.exec(q);
  let found: Movie[];
  if (id) found = movies.filter((m) => m.imdbId === Number(id[1]));
  else {
    const exact = movies.filter((m) => m.title.trim().toLowerCase() === q.toLowerCase());
    found = exact.length ? exact : movies.filter((m) => bare(m.title) === bare(q));
  }
  if (!found.length) {
    const near = movies
      .filter((m) => !id && m.title.toLowerCase().includes(bare(q)))
      .slice(0, 5)
      .map((m) => `'${m.title.trim()}'`);
    throw new UserError(
      `--movie: no movie ${id ? `with imdbId ${id[1]}` : `titled '${q}'`} in the CSV${near.length ? `; close: ${near.join(', ')}` : ''}`,
    );
  }
  const withPoster = found.filter((m) => posters.has(m.imdbId));
  if (!withPoster.length)
    throw new UserError(
      `--movie: '${found[0]!.title.trim()}' (imdbId ${found[0]!.imdbId}) has no poster in --data; download it with get-data --download`,
    );
  if (withPoster.length > 1) {
    throw new UserError(
      `--movie: ${withPoster.length} movies are titled '${q}': ${withPoster.map((m) => `'${m.title.trim()}' (${m.imdbId})`).join(', ')}; give the year or the imdbId`,
    );
  }
  return { movie: withPoster[0]!, file: posters.get(withPoster[0]!.imdbId)! };
}
