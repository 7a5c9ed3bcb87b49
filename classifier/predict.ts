/**
 * Genre prediction for poster files, printed the seed's way:
 *   The Matrix (1999)  ['Action: 91%', 'Drama[!]: 25%']
 * [!] marks a listed genre the movie does not have, when the truth is known (file named
 * <imdbId>.jpg and found in the CSV).
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { displayTitle, type Movie } from '../src/core/dataset/index.js';
import { loadRgb, type RgbImage } from '../src/core/images/decode.js';
import type { Classifier } from '../src/artifacts/classifier-model.js';

export const POSTER_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

export interface Prediction {
  file: string;
  title: string;
  scores: Record<string, number>;
  /** The movie's genres when known. */
  truth: string[] | null;
}

/** Genres by score, highest first: the top `top` (all when 0), plus any over its threshold. */
export function formatPrediction(p: Prediction, thresholds: Record<string, number> = {}, top = 3): string {
  const sorted = Object.entries(p.scores).sort((a, b) => b[1] - a[1]);
  const shown = sorted.filter(([g, s], i) => top === 0 || i < top || (thresholds[g] !== undefined && s >= thresholds[g]!));
  const items = shown.map(([g, s]) => `'${g}${p.truth && !p.truth.includes(g) ? '[!]' : ''}: ${Math.round(100 * s)}%'`);
  return `${p.title}  [${items.join(', ')}]`;
}

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
      const names = (await fs.readdir(input)).filter((n) => POSTER_EXTENSIONS.has(path.extname(n).toLowerCase())).sort();
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
    ok.forEach(({ file }, j) => {
      const movie = movieForFile(file, o.byId);
      out.push({
        file,
        title: movie ? displayTitle(movie) : path.basename(file),
        scores: Object.fromEntries(c.genres.map((g) => [g, Number(scores[j]![g]!.toFixed(4))])),
        truth: movie ? movie.genres : null,
      });
    });
    o.onProgress?.(Math.min(files.length, i + batch));
  }
  return out;
}

const csvCell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function predictionsCsv(preds: readonly Prediction[], genres: readonly string[]): string {
  const lines = [['file', 'title', ...genres].map(csvCell).join(',')];
  for (const p of preds) lines.push([p.file, p.title, ...genres.map((g) => String(p.scores[g] ?? ''))].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

export function predictionsJson(preds: readonly Prediction[]): string {
  return JSON.stringify(preds.map((p) => ({ file: p.file, title: p.title, scores: p.scores })), null, 2) + '\n';
}
