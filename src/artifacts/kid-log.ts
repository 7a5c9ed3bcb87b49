/**
 * What `dcgan train --eval_every` leaves: <output>/kid.csv (one row per evaluation, rewritten
 * whole so a resumed run drops the rows past its checkpoint) and <checkpoints>/best/best.json
 * (the iteration and KID of the checkpoint kept beside it).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs/atomic.js';
import { readJsonFile } from './json-file.js';

export const KID_CSV = 'kid.csv';
export const BEST_DIR = 'best';
export const BEST_JSON = 'best.json';
const HEADER = 'iteration,kid_mean,kid_std';

export interface Best {
  iteration: number;
  kid: number;
}

/** Adds the row of `iteration`, dropping any row at or after it (left by a run that was resumed). */
export async function writeKidRow(outputDir: string, iteration: number, mean: number, std: number): Promise<void> {
  const file = path.join(outputDir, KID_CSV);
  const old = await fs.readFile(file, 'utf8').catch(() => '');
  const rows = old
    .trim()
    .split('\n')
    .filter((l) => /^\d/.test(l) && Number(l.split(',')[0]) < iteration);
  await writeFileAtomic(file, [HEADER, ...rows, `${iteration},${mean.toFixed(6)},${std.toFixed(6)}`].join('\n') + '\n');
}

/** The best KID recorded so far, or null (none yet, or an unreadable file: the next one replaces it). */
export async function readBest(bestDir: string): Promise<Best | null> {
  const b = (await readJsonFile(path.join(bestDir, BEST_JSON)).catch(() => null)) as Best | null;
  return b && typeof b.kid === 'number' && typeof b.iteration === 'number' ? b : null;
}

export const writeBest = (bestDir: string, best: Best): Promise<void> =>
  writeJsonAtomic(path.join(bestDir, BEST_JSON), best);

export interface KidPoint {
  iteration: number;
  mean: number;
  std: number;
}

/** kid.csv in `outputDir`, oldest first; [] when there is none; a damaged one is one line naming the file and line. */
export async function readKidCsv(outputDir: string): Promise<KidPoint[]> {
  const file = path.join(outputDir, KID_CSV);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${file}: not readable (${(err as Error).message})`);
  }
  const lines = text.trim().split('\n');
  if (lines[0]!.trim() !== HEADER) throw new Error(`${file}: the first line is not ${HEADER}`);
  return lines.slice(1).map((l, i) => {
    const v = l.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (v.length !== 3 || !v.every(Number.isFinite)) throw new Error(`${file}: line ${i + 2} is not ${HEADER}`);
    return { iteration: v[0]!, mean: v[1]!, std: v[2]! };
  });
}
