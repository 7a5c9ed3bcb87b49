/**
 * Reading what earlier commands left behind (grids, losses.csv, classify.json, fid.json, the
 * video, the models), each read on its own and allowed to be missing or broken: the report shows
 * what exists and says, per section, what to run for the rest.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { type LossPoint, lossesPath, parseLosses } from '../../artifacts/losses-csv.js';
import { SCORES_JSON } from '../scoring/format.js';
import type { SamplesScoring } from '../scoring/score.js';
import { scanSamples, type GridSource } from '../scoring/scan.js';

/** At most n points, evenly spaced, first and last kept (a long run's CSV has one row per step). */
export function thin<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.round((i * (items.length - 1)) / (n - 1))]!);
  return out;
}

export interface FidGridEntry {
  file: string;
  iteration: number | null;
  fid: number;
  n?: number;
}

export interface FidFile {
  model?: string;
  real?: { dir?: string; count?: number };
  validation?: { realVsReal?: number; realVsNoise?: number; halves?: number; noiseCount?: number };
  grids: FidGridEntry[];
}

async function readJson(file: string): Promise<unknown | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

export interface ReportInputs {
  samplesDir: string;
  grids: GridSource[];
  losses: LossPoint[];
  scores: SamplesScoring | null;
  fid: FidFile | null;
  video: string | null;
  problems: string[];
}

export async function readSamplesDir(samplesDir: string, video?: string): Promise<ReportInputs> {
  const problems: string[] = [];
  const inputs: ReportInputs = { samplesDir, grids: [], losses: [], scores: null, fid: null, video: null, problems };
  if (existsSync(samplesDir) && statSync(samplesDir).isDirectory()) {
    const scan = await scanSamples([samplesDir]);
    inputs.grids = scan.grids;
    const lossFile = lossesPath(samplesDir);
    if (existsSync(lossFile)) {
      try {
        inputs.losses = parseLosses(await fs.readFile(lossFile, 'utf8'), lossFile);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const scores = (await readJson(path.join(samplesDir, SCORES_JSON))) as SamplesScoring | null;
    if (scores && Array.isArray(scores.grids) && Array.isArray(scores.genres)) inputs.scores = scores;
    const fid = (await readJson(path.join(samplesDir, 'fid.json'))) as FidFile | null;
    if (fid && Array.isArray(fid.grids)) inputs.fid = fid;
  }
  if (video) {
    inputs.video = existsSync(video) ? video : null;
    if (!inputs.video) problems.push(`${video}: no such video`);
  } else {
    // `dcgan render` writes train.mp4; look beside the grids first, then in the working directory.
    // Hidden names are a render still being written (temp name, renamed when done).
    const candidates: string[] = [path.join(samplesDir, 'train.mp4')];
    if (existsSync(samplesDir)) {
      for (const n of (await fs.readdir(samplesDir)).sort()) if (!n.startsWith('.') && n.toLowerCase().endsWith('.mp4')) candidates.push(path.join(samplesDir, n));
    }
    candidates.push('train.mp4');
    inputs.video = candidates.find((c) => existsSync(c) && statSync(c).size > 0) ?? null;
  }
  return inputs;
}

export interface ModelInfo {
  dir: string;
  name: string;
  metadata: Record<string, unknown> | null;
  evaluation: Record<string, unknown> | null;
}

/** metadata.json and the newest evaluation JSON (evaluation*.json / eval*.json / metrics*.json). */
export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const metadata = (await readJson(path.join(dir, 'metadata.json'))) as Record<string, unknown> | null;
  let evaluation: Record<string, unknown> | null = null;
  const names = existsSync(dir) ? (await fs.readdir(dir)).filter((n) => /^(eval|evaluation|metrics).*\.json$/i.test(n)) : [];
  names.sort((a, b) => statSync(path.join(dir, b)).mtimeMs - statSync(path.join(dir, a)).mtimeMs);
  for (const n of names) {
    evaluation = (await readJson(path.join(dir, n))) as Record<string, unknown> | null;
    if (evaluation) break;
  }
  return { dir, name: path.basename(dir), metadata, evaluation };
}
