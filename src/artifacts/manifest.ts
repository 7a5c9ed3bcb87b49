/**
 * manifest.json of a prepared training set: the contract between prepare-dcgan (writer) and the
 * DCGAN (reader: kept[].file relative to the manifest's directory, genres/year for conditioning).
 * Keep the shape stable; add fields, never rename them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs/atomic.js';

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface PrepareParams {
  min_year: number | null;
  max_year: number | null;
  include_genres: string[];
  exclude_genres: string[];
  ratio: number;
  /** Which rule chose the posters (src/features/prepare/selection.ts); absent in older manifests = strict. */
  selection?: 'strict' | 'seed';
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

export const manifestPath = (dir: string): string => path.join(dir, MANIFEST_NAME);

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

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(manifestPath(dir), formatManifest(m));
}

/**
 * The manifest in `dir`. Fails with one line naming the file and the field when it is missing,
 * not JSON, or has no usable "kept" list; optional poster fields (title, year, genres) default.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = manifestPath(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(
      `${file} not found; run prepare-dcgan first (e.g. prepare-dcgan --min_year=1980 --exclude_genres=Animation,Comedy) or pass --input`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const m = raw as Partial<Manifest>;
  if (!m || typeof m !== 'object' || !Array.isArray(m.kept))
    throw new UserError(`${file} has no "kept" list; is it a prepare-dcgan manifest?`);
  const kept: KeptPoster[] = m.kept.map((e, i) => {
    if (!e || typeof e.file !== 'string') throw new UserError(`${file}: kept[${i}] has no "file"`);
    return {
      imdbId: Number(e.imdbId),
      file: e.file,
      title: typeof e.title === 'string' ? e.title : '',
      year: typeof e.year === 'number' ? e.year : null,
      genres: Array.isArray(e.genres) ? e.genres.filter((g): g is string => typeof g === 'string') : [],
    };
  });
  return {
    version: Number(m.version ?? MANIFEST_VERSION),
    params: m.params as PrepareParams,
    size: m.size as Manifest['size'],
    kept,
    skipped: Array.isArray(m.skipped) ? m.skipped : [],
  };
}

/** Posters set aside because of the file itself (not by the year and genre filters): the ones a user must hear about by name. */
export const isPosterProblem = (s: SkippedPoster): boolean =>
  s.file !== undefined && (s.reason.startsWith('cannot') || s.reason === 'not in CSV');

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
