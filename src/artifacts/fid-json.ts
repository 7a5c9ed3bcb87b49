/**
 * fid.json, what `poster-studio fid` wrote beside the grids: the poster-FID of every grid and the
 * real-vs-real / real-vs-noise figures that give its scale; read by the report.
 */
import path from 'node:path';
import { writeOwnedFile } from '../core/fs/ownership.js';
import { fieldError, readJsonFile } from './json-file.js';

export const FID_JSON = 'fid.json';

export interface PosterFidGrid {
  file: string;
  iteration: number | null;
  epoch: number | null;
  n: number;
  fid: number;
  meanTerm: number;
  covTerm: number;
}

export interface PosterFidResult {
  featureDim: number;
  eps: number;
  real: { count: number; reference: number; heldOut: number; skipped: string[] };
  validation: {
    realVsReal: number;
    realVsRealAtGridSize: number | null;
    gridSize: number | null;
    realVsNoise: number | null;
    noiseCount: number;
  };
  grids: PosterFidGrid[];
}

export interface FidJson extends PosterFidResult {
  /** The classifier whose features were compared. */
  model: string;
  createdAt?: string;
  real: PosterFidResult['real'] & { dir: string };
}

export async function writeFidJson(dir: string, json: FidJson): Promise<string> {
  const file = path.join(dir, FID_JSON);
  await writeOwnedFile(file, JSON.stringify(json, null, 2) + '\n', '--samples');
  return file;
}

/** fid.json in `dir`, or null when there is none; an unreadable one is one line naming the file and field. */
export async function readFidJson(dir: string): Promise<FidJson | null> {
  const file = path.join(dir, FID_JSON);
  const o = (await readJsonFile(file)) as Partial<FidJson> | null;
  if (o === null) return null;
  const fail = (field: string): never => fieldError(file, field);
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail('grids');
  if (!Array.isArray(o!.grids)) fail('grids');
  // JSON has no NaN: a distance that could not be computed was written as null.
  const finiteOrNull = (v: unknown): boolean => v === null || typeof v === 'number';
  o!.grids!.forEach((g, i) => {
    if (!g || typeof g.file !== 'string') fail(`grids[${i}].file`);
    if (!finiteOrNull(g.fid)) fail(`grids[${i}].fid`);
    if (g.fid === null) g.fid = NaN;
  });
  if (!o!.validation || !finiteOrNull(o!.validation.realVsReal)) fail('validation.realVsReal');
  if (o!.validation!.realVsReal === null) o!.validation!.realVsReal = NaN;
  if (!o!.real || typeof o!.real.count !== 'number') fail('real.count');
  return o as FidJson;
}
