/**
 * The sidecar JSON `dcgan train` writes beside each grid (grid_000100.png → grid_000100.json):
 * where the grid came from (iteration, epoch, losses) and how to cut it apart (geometry).
 * Read defensively: a sidecar is input like any other file, and a broken one must not stop a run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { GridGeometry } from '../../core/images/grid.js';

export interface GridSidecar {
  iteration: number | null;
  epoch: number | null;
  geometry: GridGeometry;
  losses: { d: number; g: number } | null;
  seed: number | null;
  zDim: number | null;
}

export type SidecarRead = { kind: 'none' } | { kind: 'ok'; sidecar: GridSidecar; file: string } | { kind: 'bad'; file: string; reason: string };

export function sidecarPathFor(imageFile: string): string {
  return path.join(path.dirname(imageFile), path.basename(imageFile, path.extname(imageFile)) + '.json');
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Parses a sidecar object; the error names the first field that is missing or wrong. */
export function parseSidecar(raw: unknown): GridSidecar {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
  const o = raw as Record<string, unknown>;
  const int = (name: string, min: number): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`"${name}" must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
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
  const losses = l && typeof l === 'object' && num(l.d) !== null && num(l.g) !== null ? { d: num(l.d)!, g: num(l.g)! } : null;
  return {
    iteration: num(o.iteration),
    epoch: num(o.epoch),
    geometry,
    losses,
    seed: num(o.seed),
    zDim: num(o.z_dim ?? o.zDim),
  };
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
