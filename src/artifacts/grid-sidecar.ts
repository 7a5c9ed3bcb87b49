/**
 * The sample grids `dcgan train` writes (grid_000100.png) and the sidecar JSON beside each
 * (grid_000100.json): where the grid came from (iteration, epoch, losses) and how to cut it apart
 * (geometry). Read by `classify samples/`, `fid`, `report` and `dcgan render`. A sidecar is
 * input like any other file: a broken one is reported (naming the field), never fatal to a run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../core/fs/atomic.js';
import type { OwnedDir } from '../core/fs/ownership.js';
import type { GridGeometry } from '../core/images/grid.js';

const GRID_NAME = /^grid_(\d+)\.png$/;
export const gridBase = (iteration: number): string => `grid_${String(iteration).padStart(6, '0')}`;

/** The sidecar as `dcgan train` (and `dcgan generate`, for its grid.png) writes it. */
export interface GridSidecar {
  iteration: number;
  /** null for a grid `dcgan generate` drew from a checkpoint. */
  epoch: number | null;
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
  /** `dcgan generate`: the checkpoint the grid came from. */
  checkpoint?: string;
}

/** What readers use of a sidecar: the geometry is required, the provenance may be absent. */
export interface SidecarInfo {
  iteration: number | null;
  epoch: number | null;
  geometry: GridGeometry;
  losses: { d: number; g: number } | null;
}

export type SidecarRead =
  { kind: 'none' } | { kind: 'ok'; sidecar: SidecarInfo; file: string } | { kind: 'bad'; file: string; reason: string };

export function sidecarPathFor(imageFile: string): string {
  return path.join(path.dirname(imageFile), path.basename(imageFile, path.extname(imageFile)) + '.json');
}

/** Writes the sidecar beside its grid image (grid_000100.png -> grid_000100.json). */
export async function writeSidecar(imageFile: string, sidecar: GridSidecar): Promise<void> {
  await writeJsonAtomic(sidecarPathFor(imageFile), sidecar);
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Parses a sidecar object; the error names the first field that is missing or wrong. */
export function parseSidecar(raw: unknown): SidecarInfo {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
  const o = raw as Record<string, unknown>;
  const int = (name: string, min: number): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new Error(`"${name}" must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const geometry: GridGeometry = {
    rows: int('rows', 1),
    cols: int('cols', 1),
    cellWidth: int('cellWidth', 1),
    cellHeight: int('cellHeight', 1),
    gap: o.gap === undefined ? 0 : int('gap', 0),
  };
  const l = o.losses as Record<string, unknown> | undefined;
  const losses =
    l && typeof l === 'object' && num(l.d) !== null && num(l.g) !== null ? { d: num(l.d)!, g: num(l.g)! } : null;
  return { iteration: num(o.iteration), epoch: num(o.epoch), geometry, losses };
}

export async function readSidecar(imageFile: string): Promise<SidecarRead> {
  const file = sidecarPathFor(imageFile);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'bad', file, reason: (err as Error).message };
  }
  try {
    return { kind: 'ok', file, sidecar: parseSidecar(JSON.parse(text)) };
  } catch (err) {
    return { kind: 'bad', file, reason: (err as Error).message.split('\n')[0]! };
  }
}

/** The iteration of a grid: from its sidecar, else from a name like grid_000100.png. */
export function iterationFromName(file: string): number | null {
  const m = /(\d+)(?=\.[^.]+$)/.exec(path.basename(file));
  return m ? Number(m[1]) : null;
}

/** Grid PNGs `dcgan train` wrote in `dir`, oldest iteration first. */
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

/**
 * Removes our grids (and sidecars) past `iteration`: written after the checkpoint a resume
 * starts from, or all of them (iteration -1) on --fresh. Files poster-studio did not write stay.
 */
export async function removeGridsAfter(out: OwnedDir, iteration: number): Promise<number> {
  let n = 0;
  const gone: string[] = [];
  for (const g of await listGrids(out.dir)) {
    if (g.iteration <= iteration) continue;
    const png = path.basename(g.file);
    const json = path.basename(sidecarPathFor(g.file));
    if (await out.removeFile(png)) n++;
    await out.removeFile(json);
    gone.push(png, json);
  }
  await out.forget(gone);
  return n;
}
