/**
 * Real posters to compare generated ones with: a poster directory (data/posters) or the output of
 * prepare-dcgan (data/dcgan, <imdbId>.jpg), sampled with a seed so every run compares the same set.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { createRng } from '../../core/random.js';
import { DEFAULT_DCGAN_DATA, DEFAULT_POSTERS } from '../../core/paths.js';
import { IMAGE_EXTENSIONS } from './scan.js';

export async function listRealPosters(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir);
  return names
    .filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase()))
    .sort()
    .map((n) => path.join(dir, n));
}

/** `count` posters picked with the seed (all of them when there are fewer). */
export function pickSeeded<T>(items: readonly T[], count: number, seed: number, purpose: string): T[] {
  return createRng(seed, purpose)
    .shuffle([...items])
    .slice(0, Math.min(count, items.length));
}

/** The first real-poster directory that exists: prepare-dcgan's output, then the raw posters. */
export function defaultRealDir(): string | null {
  for (const d of [DEFAULT_DCGAN_DATA, DEFAULT_POSTERS]) if (existsSync(d) && statSync(d).isDirectory()) return d;
  return null;
}
