/**
 * The DCGAN training set's manifest: the contract between prepare-dcgan and the DCGAN (which
 * reads kept[].file relative to the manifest's directory, and genres/year for conditioning).
 * Keep the shape stable; add fields, never rename them.
 */
import { readFile } from 'node:fs/promises';

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface PrepareParams {
  min_year: number | null;
  max_year: number | null;
  include_genres: string[];
  exclude_genres: string[];
  ratio: number;
}

export interface KeptPoster {
  imdbId: number;
  /** Relative to the output directory. */
  file: string;
  title: string;
  year: number | null;
  genres: string[];
}

export interface SkippedPoster {
  imdbId: number;
  /** The source poster, when there is one. */
  file?: string;
  reason: string;
}

export interface Manifest {
  version: number;
  params: PrepareParams;
  size: { width: number; height: number };
  kept: KeptPoster[];
  skipped: SkippedPoster[];
}

/** JSON with one poster per line: ~half the size of fully indented JSON, and greppable by id. */
export function formatManifest(m: Manifest): string {
  const list = (items: readonly object[]): string =>
    items.length ? `[\n${items.map((i) => '    ' + JSON.stringify(i)).join(',\n')}\n  ]` : '[]';
  return (
    '{\n' +
    `  "version": ${m.version},\n` +
    `  "params": ${JSON.stringify(m.params)},\n` +
    `  "size": ${JSON.stringify(m.size)},\n` +
    `  "kept": ${list(m.kept)},\n` +
    `  "skipped": ${list(m.skipped)}\n` +
    '}\n'
  );
}

/** The manifest a previous run left, or null when there is none or it cannot be read. */
export async function readManifest(file: string): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await readFile(file, 'utf8')) as Manifest;
    if (m && m.version === MANIFEST_VERSION && Array.isArray(m.kept) && m.size) return m;
    return null;
  } catch {
    return null;
  }
}

/** Reasons grouped for the summary line, most frequent first: `excluded genre 1200, no poster 30`. */
export function countReasons(skipped: readonly { reason: string }[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of skipped) {
    // 'cannot decode: <detail>' groups under 'cannot decode'.
    const key = s.reason.split(':')[0]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}
