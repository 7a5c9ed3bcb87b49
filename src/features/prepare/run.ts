/**
 * prepare-dcgan's work: select, convert what is missing or stale, remove what is no longer
 * selected, then write the manifest (last, atomically: a manifest always describes files that
 * exist). Bad images are skipped with a reason, never fatal.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { indexPosters, readMovieCsv, sizeAtRatio, type MovieTable } from '../../core/dataset/index.js';
import { removeStaleTemps } from '../../core/fs/atomic.js';
import { foreignFilesError, OwnedDir } from '../../core/fs/ownership.js';
import { createProgress } from '../../core/progress.js';
import { mapLimit } from '../../core/map-limit.js';
import { convertPoster, defaultConcurrency, tuneSharpForSmallImages } from './convert.js';
import { readJpegHeader } from './jpeg-check.js';
import {
  MANIFEST_NAME,
  MANIFEST_VERSION,
  type KeptPoster,
  type Manifest,
  type PrepareParams,
  type SkippedPoster,
  writeManifest,
} from '../../artifacts/manifest.js';
import { selectPosters } from './select.js';
import { rejecter } from './selection.js';

export interface PrepareOptions {
  csv: string;
  input: string;
  output: string;
  params: PrepareParams;
  concurrency?: number;
  /** 'sharp' skips the libjpeg-turbo fast path (the benchmark measures both). */
  engine?: 'auto' | 'sharp';
  /** Progress on stderr (off in the benchmark). */
  progress?: boolean;
  /** A parsed CSV to reuse (the benchmark parses once). */
  table?: MovieTable;
}

export interface PrepareResult {
  manifest: Manifest;
  converted: number;
  reused: number;
  removed: number;
  seconds: number;
  /** Seconds spent converting (the rate the summary and the benchmark report). */
  convertSeconds: number;
}

const OUTPUT_NAME = /^\d+\.jpg$/;
const OUTPUT_FILES = /^(\d+\.jpg|manifest\.json)$/;

/** An output a previous run finished: whole, the right size, 3 components, newer than its source. */
async function isUpToDate(
  target: string,
  source: string,
  width: number,
  height: number,
  present: Set<string>,
): Promise<boolean> {
  if (!present.has(path.basename(target))) return false;
  try {
    const [t, s] = await Promise.all([stat(target), stat(source)]);
    if (t.mtimeMs < s.mtimeMs) return false;
  } catch {
    return false;
  }
  const h = await readJpegHeader(target);
  return h !== null && h.width === width && h.height === height && h.components === 3;
}

export async function prepareDcgan(o: PrepareOptions): Promise<PrepareResult> {
  const start = performance.now();
  const size = sizeAtRatio(o.params.ratio);
  const table = o.table ?? readMovieCsv(o.csv);
  const posters = indexPosters(o.input);
  const { selected, skipped } = selectPosters(table, posters, rejecter(o.params));

  // Only files poster-studio wrote here are replaced or removed: someone else's <digits>.jpg or
  // manifest.json stops the run before anything is written.
  const owned = await OwnedDir.open(o.output);
  const foreign = await owned.foreign(OUTPUT_FILES);
  if (foreign.length) {
    throw foreignFilesError(
      o.output,
      foreign,
      'prepare-dcgan',
      '<imdbId>.jpg and manifest.json',
      'move them away or choose another --output (an empty or new folder)',
    );
  }
  await mkdir(o.output, { recursive: true });
  await removeStaleTemps(o.output);
  const before = await readdir(o.output);
  // Until the new manifest lands, no manifest: a killed run must not leave one naming files it removed.
  await owned.removeFile(MANIFEST_NAME);
  await owned.claim([MANIFEST_NAME, ...selected.map(({ movie }) => `${movie.imdbId}.jpg`)]);
  tuneSharpForSmallImages();
  // One directory listing instead of a failing stat per poster on a first run.
  const present = new Set(before.filter((n) => OUTPUT_NAME.test(n)));

  const progress =
    o.progress === false ? null : createProgress('prepare-dcgan', selected.length, 'converted {converted}');
  let done = 0;
  let converted = 0;
  const convertStart = performance.now();
  let reused = 0;
  const outcomes = await mapLimit(selected, o.concurrency ?? defaultConcurrency(), async ({ movie, source }) => {
    const file = `${movie.imdbId}.jpg`;
    const target = path.join(o.output, file);
    let result: KeptPoster | SkippedPoster;
    if (await isUpToDate(target, source, size.width, size.height, present)) {
      reused++;
      result = { imdbId: movie.imdbId, file, title: movie.title, year: movie.year, genres: movie.genres };
    } else {
      try {
        await convertPoster(source, target, size.width, size.height, o.engine);
        converted++;
        result = { imdbId: movie.imdbId, file, title: movie.title, year: movie.year, genres: movie.genres };
      } catch (err) {
        await owned.removeFile(file);
        const detail = ((err as Error).message ?? String(err)).split('\n')[0]!.trim();
        result = { imdbId: movie.imdbId, file: source, reason: `cannot decode: ${detail}` };
      }
    }
    progress?.update(++done, { converted });
    return result;
  });
  progress?.stop();
  const convertSeconds = (performance.now() - convertStart) / 1000;

  const kept: KeptPoster[] = [];
  for (const r of outcomes) {
    if ('reason' in r) skipped.push(r);
    else kept.push(r);
  }
  skipped.sort((a, b) => a.imdbId - b.imdbId);

  // Files of earlier runs that this selection no longer holds (only ones poster-studio wrote).
  const keep = new Set(kept.map((k) => k.file));
  let removed = 0;
  const gone: string[] = [];
  for (const name of await readdir(o.output)) {
    if (OUTPUT_NAME.test(name) && !keep.has(name) && owned.owns(name)) {
      if (await owned.removeFile(name)) removed++;
      gone.push(name);
    }
  }
  for (const r of outcomes) if ('reason' in r) gone.push(`${r.imdbId}.jpg`);
  await owned.forget(gone);

  const manifest: Manifest = { version: MANIFEST_VERSION, params: o.params, size, kept, skipped };
  await writeManifest(o.output, manifest);
  return { manifest, converted, reused, removed, seconds: (performance.now() - start) / 1000, convertSeconds };
}
