/**
 * Scoring what scanSamples found with any per-image genre scorer (the classifier's, wired in by
 * the CLI: src/ never imports a model). Grids are cut into their posters; every poster gets a
 * score per genre; the genre mix of each grid, in training order, shows what the GAN drifts to.
 */
import path from 'node:path';
import { splitGrid } from '../../core/images/grid.js';
import type { RgbImage } from '../../core/images/decode.js';
import type { GenreMix, GridScores, SamplesScoring, SingleScores } from '../../artifacts/classify-json.js';
import { loadImage, type SampleScan } from './scan.js';

/** Scores a batch of images of any size: one {genre: probability} per image, in order. */
export type ScoreFn = (images: RgbImage[]) => Promise<Record<string, number>[]>;

export function topGenres(scores: Record<string, number>, k: number): [string, number][] {
  return Object.entries(scores)
    .sort((a, b) => b[1] - a[1])
    .slice(0, k);
}

export function genreMix(cells: readonly { scores: Record<string, number> }[], genres: readonly string[]): GenreMix {
  const meanScore: Record<string, number> = {};
  const topShare: Record<string, number> = {};
  for (const g of genres) {
    meanScore[g] = 0;
    topShare[g] = 0;
  }
  if (cells.length === 0) return { meanScore, topShare };
  for (const c of cells) {
    for (const g of genres) meanScore[g]! += (c.scores[g] ?? 0) / cells.length;
    const top = topGenres(c.scores, 1)[0];
    if (top && top[0] in topShare) topShare[top[0]]! += 1 / cells.length;
  }
  return { meanScore, topShare };
}

export interface ScoreOptions {
  /** Images per call of the scorer. */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function scoreSamples(scan: SampleScan, score: ScoreFn, opts: ScoreOptions = {}): Promise<SamplesScoring> {
  const batch = Math.max(1, opts.batch ?? 64);
  const skipped = [...scan.skipped];
  const grids: GridScores[] = [];
  const singles: SingleScores[] = [];
  const total = scan.grids.length + scan.singles.length;
  let done = 0;
  let genres: string[] = [];
  const scoreAll = async (images: RgbImage[]): Promise<Record<string, number>[]> => {
    const out: Record<string, number>[] = [];
    for (let i = 0; i < images.length; i += batch) out.push(...(await score(images.slice(i, i + batch))));
    if (out.length !== images.length)
      throw new Error(`the scorer returned ${out.length} results for ${images.length} images`);
    if (!genres.length && out[0]) genres = Object.keys(out[0]);
    return out;
  };
  for (const g of scan.grids) {
    let posters: RgbImage[];
    try {
      posters = splitGrid(await loadImage(g.file), g.geometry);
    } catch (err) {
      skipped.push({ file: g.file, reason: (err as Error).message.replace(`${g.file}: `, '') });
      opts.onProgress?.(++done, total);
      continue;
    }
    const scores = await scoreAll(posters);
    const cells = scores.map((s, i) => ({
      cell: i,
      row: Math.floor(i / g.geometry.cols),
      col: i % g.geometry.cols,
      scores: s,
    }));
    grids.push({
      file: g.file,
      iteration: g.iteration,
      epoch: g.epoch,
      losses: g.losses,
      geometry: g.geometry,
      geometryFrom: g.from,
      cells,
      mix: genreMix(cells, genres),
    });
    opts.onProgress?.(++done, total);
  }
  // Singles go through the scorer in batches, loaded lazily so a big poster folder stays small in memory.
  for (let i = 0; i < scan.singles.length; i += batch) {
    const chunk = scan.singles.slice(i, i + batch);
    const loaded: { file: string; img: RgbImage }[] = [];
    for (const s of chunk) {
      try {
        loaded.push({ file: s.file, img: await loadImage(s.file) });
      } catch (err) {
        skipped.push({
          file: s.file,
          reason: `broken image (${(err as Error).message.replace(/^.*cannot decode image \(/, '').replace(/\)$/, '')})`,
        });
      }
    }
    const scores = loaded.length ? await scoreAll(loaded.map((l) => l.img)) : [];
    loaded.forEach((l, j) => singles.push({ file: l.file, scores: scores[j]! }));
    done += chunk.length;
    opts.onProgress?.(done, total);
  }
  return { genres, grids, singles, skipped, notes: [...scan.notes] };
}

export function displayName(file: string): string {
  return path.basename(file);
}
