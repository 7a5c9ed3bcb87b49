/**
 * `get-data --resize`: the seed's resized copies of the posters on disk, one directory per ratio
 * (`<posters>/<ratio>/<imdbId>.jpg`, sRGB JPEG), so the full-size posters stay for every other
 * ratio. A copy already there, whole, at the right size and newer than its poster is left alone:
 * re-running does nothing.
 */
import { lstat, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTemps } from '../../core/fs/atomic.js';
import { withLocks } from '../../core/fs/lock.js';
import { OwnedDir } from '../../core/fs/ownership.js';
import { mapLimit } from '../../core/map-limit.js';
import { convertPoster, defaultConcurrency, tuneSharpForSmallImages } from '../prepare/convert.js';
import { readJpegHeader } from '../prepare/jpeg-check.js';
import { createProgress } from '../../core/progress.js';

export interface ResizeSummary {
  dir: string;
  written: number;
  upToDate: number;
  failures: { file: string; reason: string }[];
}

async function upToDate(target: string, source: string, width: number, height: number): Promise<boolean> {
  try {
    const [t, s] = await Promise.all([stat(target), stat(source)]);
    if (t.mtimeMs < s.mtimeMs) return false;
  } catch {
    return false;
  }
  const h = await readJpegHeader(target);
  return h !== null && h.width === width && h.height === height && h.components === 3;
}

export async function resizePosters(
  posters: ReadonlyMap<number, string>,
  postersDir: string,
  ratio: number,
  size: { width: number; height: number },
  progress = true,
): Promise<ResizeSummary> {
  const dir = path.join(postersDir, String(ratio));
  return withLocks([{ path: dir, kind: 'dir' }], 'get-data --resize', () => resizeInto(dir, posters, size, progress));
}

async function resizeInto(
  dir: string,
  posters: ReadonlyMap<number, string>,
  size: { width: number; height: number },
  progress: boolean,
): Promise<ResizeSummary> {
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  // A copy someone else put here is used when it is whole and current, never replaced.
  const owned = await OwnedDir.open(dir);
  tuneSharpForSmallImages();
  const summary: ResizeSummary = { dir, written: 0, upToDate: 0, failures: [] };
  const bar = progress ? createProgress('resize', posters.size, 'written {written}') : null;
  let done = 0;
  await mapLimit([...posters], defaultConcurrency(), async ([id, source]) => {
    const target = path.join(dir, `${id}.jpg`);
    if (await upToDate(target, source, size.width, size.height)) summary.upToDate++;
    else if (!owned.owns(`${id}.jpg`) && (await lstat(target).catch(() => null))) {
      summary.failures.push({ file: target, reason: 'not replaced: it was not written by poster-studio' });
    } else {
      try {
        await owned.claim([`${id}.jpg`]);
        await convertPoster(source, target, size.width, size.height);
        summary.written++;
      } catch (err) {
        summary.failures.push({ file: source, reason: ((err as Error).message ?? String(err)).split('\n')[0]! });
      }
    }
    bar?.update(++done, { written: summary.written });
  });
  bar?.stop();
  return summary;
}
