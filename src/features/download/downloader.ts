/**
 * Downloads posters into a directory, safely re-runnable: a valid poster already there is
 * skipped (an invalid one replaced), each body is checked (whole, decodes as an image) before it
 * is renamed into place, so no partial JPEG ever carries a poster's name, even when killed.
 */
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../core/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../../core/fs/atomic.js';
import { OwnedDir } from '../../core/fs/ownership.js';
import { MAX_INPUT_PIXELS, readImageFile, srgbPipeline } from '../../core/images/decode.js';
import { parseJpegHeader } from '../prepare/jpeg-check.js';
import { mapLimit } from '../../core/map-limit.js';
import { createProgress } from '../../core/progress.js';
import { createRng } from '../../core/random.js';
import { DownloadError, fetchWithRetry } from './fetch-poster.js';

export interface DownloadJob {
  imdbId: number;
  url: string;
}

export interface DownloadOptions {
  output: string;
  concurrency: number;
  timeoutMs: number;
  /** The largest poster body accepted, in bytes. */
  maxBytes: number;
  retries: number;
  backoffMs: number;
  seed: number;
  progress?: boolean;
}

export interface Failure {
  imdbId: number;
  url: string;
  reason: string;
}

export interface DownloadSummary {
  downloaded: number;
  /** Valid posters already there. */
  present: number;
  /** Invalid files that were there and got replaced (counted in downloaded too). */
  replaced: number;
  failures: Failure[];
  /** True when no host answered at all (DNS failure / connection refused everywhere). */
  offline: boolean;
}

/** A poster already on disk counts when it is a whole JPEG, or anything else sharp fully decodes. */
export async function isValidPoster(file: string): Promise<boolean | null> {
  let bytes: Buffer;
  try {
    bytes = await readImageFile(file);
  } catch {
    return null;
  }
  return parseJpegHeader(bytes) !== null || (await decodes(bytes));
}

async function decodes(bytes: Buffer): Promise<boolean> {
  try {
    await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).raw().toBuffer();
    return true;
  } catch {
    return false;
  }
}

/** The bytes to store: the body as served when it is a whole JPEG, else re-encoded as one. */
async function toPosterBytes(body: Buffer): Promise<Buffer> {
  if (parseJpegHeader(body) !== null && (await decodes(body))) return body;
  try {
    return await srgbPipeline(body).jpeg({ quality: 95 }).toBuffer();
  } catch (err) {
    throw new DownloadError('not an image', ((err as Error).message ?? '').split('\n')[0]!, false);
  }
}

export async function downloadPosters(jobs: readonly DownloadJob[], o: DownloadOptions): Promise<DownloadSummary> {
  await mkdir(o.output, { recursive: true });
  await removeStaleTemps(o.output);
  // Posters someone else put here are used as they are, never replaced, even when broken.
  const owned = await OwnedDir.open(o.output);
  const rng = createRng(o.seed, 'get-data-backoff');
  const summary: DownloadSummary = { downloaded: 0, present: 0, replaced: 0, failures: [], offline: false };
  const progress =
    o.progress === false ? null : createProgress('get-data', jobs.length, 'new {downloaded} failed {failed}');
  // Offline is decided early: when this many requests in a row find no host and none ever
  // answered, the rest would only wait for their timeouts and retries.
  const offlineAfter = Math.max(8, 2 * o.concurrency);
  let offlineStreak = 0;
  let anyAnswer = false;
  let done = 0;

  await mapLimit(jobs, o.concurrency, async (job) => {
    if (summary.offline) return;
    const name = `${job.imdbId}.jpg`;
    const target = path.join(o.output, name);
    const existing = await isValidPoster(target);
    if (existing === true) {
      summary.present++;
    } else if (!owned.owns(name) && (await lstat(target).catch(() => null))) {
      summary.failures.push({
        imdbId: job.imdbId,
        url: job.url,
        reason: `not replaced: ${target} is not a valid poster and was not written by poster-studio`,
      });
    } else {
      try {
        const body = await fetchWithRetry(job.url, {
          timeoutMs: o.timeoutMs,
          maxBytes: o.maxBytes,
          retries: o.retries,
          backoffMs: o.backoffMs,
          rng,
        });
        anyAnswer = true;
        offlineStreak = 0;
        const bytes = await toPosterBytes(body);
        await owned.claim([name]);
        await writeFileAtomic(target, bytes);
        summary.downloaded++;
        if (existing === false) summary.replaced++;
      } catch (err) {
        if (!(err instanceof DownloadError)) throw err;
        if (err.offline) offlineStreak++;
        else anyAnswer = true;
        if (!anyAnswer && offlineStreak >= offlineAfter) summary.offline = true;
        summary.failures.push({ imdbId: job.imdbId, url: job.url, reason: err.message });
      }
    }
    progress?.update(++done, { downloaded: summary.downloaded, failed: summary.failures.length });
  });
  progress?.stop();
  if (!anyAnswer && summary.failures.length > 0 && summary.downloaded === 0) summary.offline = true;
  return summary;
}

/** Failures grouped by kind, most frequent first: `HTTP 404 x3, timeout x1`. */
export function groupFailures(failures: readonly Failure[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const kind = f.reason.split(':')[0]!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} x${n}`)
    .join(', ');
}

/** The one line for a run where no host answered. */
export function offlineError(s: DownloadSummary): UserError {
  const first = s.failures[0];
  const host = first ? safeHost(first.url) : '';
  const why = first ? first.reason : 'no answer';
  return new UserError(
    `cannot reach any poster host (${why}${host ? ` at ${host}` : ''}, ${s.failures.length} attempts); check the network and re-run: posters already downloaded are kept`,
    1,
  );
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
