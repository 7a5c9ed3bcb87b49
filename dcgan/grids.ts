/**
 * What training leaves in samples/: grid_000100.png + grid_000100.json (the sidecar that
 * `classify samples/` and `dcgan render` read) and losses.csv, one row per iteration.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs/atomic.js';
import { encodePng, floatToRgb, type RgbImage } from '../src/core/images/decode.js';
import { composeGrid, type GridGeometry } from '../src/core/images/grid.js';

export const GRID_GAP = 2;
export const gridBase = (iteration: number): string => `grid_${String(iteration).padStart(6, '0')}`;
const GRID_NAME = /^grid_(\d+)\.png$/;

export interface GridSidecarOut {
  iteration: number;
  epoch: number;
  rows: number;
  cols: number;
  cellWidth: number;
  cellHeight: number;
  gap: number;
  losses: { d: number; g: number } | null;
  seed: number;
  z_dim: number;
  /** Mean pairwise L2 distance of the cells (pixels in [-1, 1]): near 0 means mode collapse. */
  diversity?: number;
  conditional?: { genres: string[]; decade: number | null }[];
}

/** NHWC floats in [-1, 1] to one RGB image per sample. */
export function toImages(pixels: Float32Array, count: number, width: number, height: number): RgbImage[] {
  const per = width * height * 3;
  return Array.from({ length: count }, (_, i) => ({ width, height, data: floatToRgb(pixels, 'tanh', i * per, per) }));
}

/** Mean L2 distance over all pairs of samples: a quick mode-collapse check. */
export function meanPairwiseDistance(pixels: Float32Array, count: number): number {
  const per = pixels.length / count;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let d = 0;
      for (let k = 0; k < per; k++) {
        const x = pixels[i * per + k]! - pixels[j * per + k]!;
        d += x * x;
      }
      sum += Math.sqrt(d);
      pairs++;
    }
  }
  return pairs ? sum / pairs : 0;
}

export async function writeGrid(dir: string, images: RgbImage[], geometry: GridGeometry, sidecar: GridSidecarOut): Promise<string> {
  const png = path.join(dir, `${gridBase(sidecar.iteration)}.png`);
  await writeFileAtomic(png, await encodePng(composeGrid(images, geometry)));
  await writeJsonAtomic(path.join(dir, `${gridBase(sidecar.iteration)}.json`), sidecar);
  return png;
}

/** Grid PNGs in `dir`, oldest iteration first. */
export async function listGrids(dir: string): Promise<{ iteration: number; file: string }[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => GRID_NAME.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ iteration: Number(m[1]), file: path.join(dir, m[0]) }))
    .sort((a, b) => a.iteration - b.iteration);
}

/** Removes grids past `iteration` (written after the checkpoint a resume starts from). */
export async function removeGridsAfter(dir: string, iteration: number): Promise<number> {
  let n = 0;
  for (const g of await listGrids(dir)) {
    if (g.iteration <= iteration) continue;
    await fs.rm(g.file, { force: true });
    await fs.rm(g.file.replace(/\.png$/, '.json'), { force: true });
    n++;
  }
  return n;
}

export const LOSSES_HEADER = 'iteration,epoch,d_loss,g_loss,seconds';

/**
 * losses.csv after a resume from `iteration`: the header, then exactly one whole row for each
 * iteration up to it; rows written after the checkpoint, torn last lines and repeats are dropped.
 */
export async function trimLosses(file: string, iteration: number): Promise<number> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    // No file yet: start one.
  }
  const seen = new Set<number>();
  const rows: string[] = [];
  const lines = text.split('\n');
  // The last element is '' when the file ends in a newline; anything else there is a torn row.
  lines.pop();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const it = Number(f[0]);
    if (f.length !== 5 || !Number.isInteger(it) || it > iteration || seen.has(it) || f.some((x) => x === '' || Number.isNaN(Number(x)))) continue;
    seen.add(it);
    rows.push(line);
  }
  await writeFileAtomic(file, [LOSSES_HEADER, ...rows].join('\n') + '\n');
  return rows.length;
}

/** Appends rows with one write call each time, so a kill tears at most the last row. */
export class LossLog {
  private pending: string[] = [];
  constructor(readonly file: string) {}

  add(iteration: number, epoch: number, d: number, g: number, seconds: number): void {
    this.pending.push(`${iteration},${epoch},${d.toPrecision(6)},${g.toPrecision(6)},${seconds.toFixed(3)}`);
  }

  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    await fs.appendFile(this.file, text);
  }
}
