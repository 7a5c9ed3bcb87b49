/**
 * classify.json, what `classify samples/` wrote beside the grids: per grid, the scores of every
 * poster cut from it and the grid's genre mix; read by the report (which then needs no model to
 * show the mix over training).
 */
import path from 'node:path';
import { writeOwnedFile } from '../core/fs/ownership.js';
import { fieldError, readJsonFile } from './json-file.js';
import type { GridGeometry } from '../core/images/grid.js';

export const CLASSIFY_JSON = 'classify.json';

export interface CellScore {
  /** 0-based, row by row. */
  cell: number;
  row: number;
  col: number;
  scores: Record<string, number>;
}

export interface GenreMix {
  /** Mean score per genre over the grid's posters. */
  meanScore: Record<string, number>;
  /** Share of posters whose top genre is this one. */
  topShare: Record<string, number>;
}

export interface GridScores {
  file: string;
  iteration: number | null;
  epoch: number | null;
  losses: { d: number; g: number } | null;
  geometry: GridGeometry;
  /** Where the geometry came from. */
  geometryFrom: 'sidecar' | '--grid';
  cells: CellScore[];
  mix: GenreMix;
}

export interface SingleScores {
  file: string;
  scores: Record<string, number>;
}

export interface SamplesScoring {
  genres: string[];
  grids: GridScores[];
  singles: SingleScores[];
  skipped: { file: string; reason: string }[];
  notes: string[];
}

export interface ClassifyJson extends SamplesScoring {
  /** The classifier's directory. */
  model: string | null;
  createdAt: string;
}

export async function writeClassifyJson(dir: string, s: SamplesScoring, model: string | null): Promise<string> {
  const file = path.join(dir, CLASSIFY_JSON);
  await writeOwnedFile(
    file,
    JSON.stringify({ model, createdAt: new Date().toISOString(), ...s } satisfies ClassifyJson, null, 2) + '\n',
    'classify',
  );
  return file;
}

/** classify.json in `dir`, or null when there is none; an unreadable one is one line naming the file and field. */
export async function readClassifyJson(dir: string): Promise<ClassifyJson | null> {
  const file = path.join(dir, CLASSIFY_JSON);
  const o = (await readJsonFile(file)) as Partial<ClassifyJson> | null;
  if (o === null) return null;
  const fail = (field: string): never => fieldError(file, field);
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail('genres');
  if (!Array.isArray(o!.genres) || !o!.genres.every((g) => typeof g === 'string')) fail('genres');
  if (!Array.isArray(o!.grids)) fail('grids');
  o!.grids!.forEach((g, i) => {
    if (!g || typeof g.file !== 'string') fail(`grids[${i}].file`);
    if (!Array.isArray(g.cells)) fail(`grids[${i}].cells`);
    if (!g.mix || typeof g.mix.meanScore !== 'object') fail(`grids[${i}].mix`);
    if (!g.geometry || !Number.isInteger(g.geometry.rows) || !Number.isInteger(g.geometry.cols))
      fail(`grids[${i}].geometry`);
  });
  return {
    model: o!.model ?? null,
    createdAt: o!.createdAt ?? '',
    genres: o!.genres!,
    grids: o!.grids!,
    singles: o!.singles ?? [],
    skipped: o!.skipped ?? [],
    notes: o!.notes ?? [],
  };
}
