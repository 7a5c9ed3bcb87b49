/**
 * `get-data`: what the CSV holds and which posters are already here; with --download, fetches
 * the missing ones from the Poster column (bounded concurrency, timeouts, retries, resume).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatSkipped, skippedListText } from '../../src/core/skipped.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { writeOwnedFile } from '../../src/core/fs/ownership.js';
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import {
  applyFilter,
  checkYearRange,
  describeTable,
  indexPosters,
  readMovieCsv,
  sizeAtRatio,
  type Movie,
} from '../../src/core/dataset/index.js';
import { downloadPosters, groupFailures, offlineError } from '../../src/features/download/downloader.js';
import { resizePosters } from '../../src/features/download/resize.js';
import { DEFAULT_CSV, DEFAULT_POSTERS } from '../../src/core/paths.js';

/** Every poster not downloaded, with its reason (written beside the posters). */
const FAILURES_LIST = 'get-data-failures.txt';

export const getDataFlags = defineFlags({
  csv: { kind: 'path', default: DEFAULT_CSV, exists: 'file', help: 'MovieGenre.csv (ISO-8859-1 or UTF-8)' },
  output: { kind: 'path', default: DEFAULT_POSTERS, help: 'poster directory (<imdbId>.jpg)' },
  download: { kind: 'bool', default: false, help: 'download the posters that are missing' },
  resize: {
    kind: 'bool',
    default: false,
    help: 'write copies of the posters on disk (downloaded now or before) at --ratio into <output>/<ratio>/ (sRGB JPEG); re-running redoes nothing',
  },
  ratio: {
    kind: 'int',
    default: 60,
    min: 30,
    max: 70,
    arg: 'percent',
    help: 'size for --resize, as a percentage of 182x268',
  },
  min_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'only movies from this year on' },
  max_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'only movies up to this year' },
  concurrency: { kind: 'int', default: 8, min: 1, max: 64, arg: 'n', help: 'downloads in flight' },
  timeout: { kind: 'float', default: 30, min: 0.05, max: 600, arg: 'seconds', help: 'time limit of one request' },
  max_bytes: {
    kind: 'int',
    default: 5_000_000,
    min: 1000,
    max: 1_000_000_000,
    arg: 'bytes',
    help: 'largest poster accepted: a bigger Content-Length is refused unread, a longer body is cut off',
  },
  retries: {
    kind: 'int',
    default: 3,
    min: 0,
    max: 10,
    arg: 'n',
    help: 'retries of a failed request (timeouts, 5xx, cut bodies), with exponential backoff',
  },
  limit: { kind: 'int', min: 1, arg: 'n', help: 'consider only the first n movies with a poster URL' },
  seed: { kind: 'int', default: 0, min: 0, help: 'seed of the backoff jitter' },
});

/** The seed's -resize: copies at the ratio of the selected movies' posters that are on disk. */
async function resize(output: string, movies: readonly Movie[], ratio: number): Promise<void> {
  const all = existsSync(output) ? indexPosters(output) : new Map<number, string>();
  const mine = new Map(movies.filter((m) => all.has(m.imdbId)).map((m) => [m.imdbId, all.get(m.imdbId)!] as const));
  const size = sizeAtRatio(ratio);
  const r = await resizePosters(mine, output, ratio, size);
  const failed = r.failures.length
    ? `, ${r.failures.length} unreadable (first: ${r.failures[0]!.file}: ${r.failures[0]!.reason})`
    : '';
  process.stdout.write(
    `resize: ${mine.size} posters at ${size.width}x${size.height} in ${r.dir}: ${r.written} written, ${r.upToDate} already done${failed}\n`,
  );
}

export function configureGetData(cmd: Command): Command {
  addFlags(cmd, getDataFlags).action(async () => {
    const o = readFlags(cmd, getDataFlags);
    checkYearRange(o.min_year, o.max_year);
    const table = readMovieCsv(o.csv);
    process.stderr.write(describeTable(table, o.csv) + '\n');
    const movies = applyFilter(table.movies, { minYear: o.min_year, maxYear: o.max_year });
    const withUrl = movies.filter((m) => m.posterUrl !== null);
    const noUrl = movies.length - withUrl.length;
    const jobs = withUrl.slice(0, o.limit ?? withUrl.length).map((m) => ({ imdbId: m.imdbId, url: m.posterUrl! }));
    const present = existsSync(o.output) ? indexPosters(o.output) : new Map<number, string>();
    const years =
      o.min_year !== undefined || o.max_year !== undefined ? ` (${o.min_year ?? ''}-${o.max_year ?? ''})` : '';
    const head = `get-data: ${movies.length} movies${years}, ${withUrl.length} with a poster URL, ${noUrl} no URL`;
    if (!o.download) {
      const have = movies.filter((m) => present.has(m.imdbId)).length;
      process.stdout.write(
        `${head}; ${have} posters already in ${o.output}; pass --download to fetch the ${jobs.filter((j) => !present.has(j.imdbId)).length} missing\n`,
      );
      if (o.resize) await resize(o.output, movies, o.ratio);
      return;
    }
    const s = await withLocks([{ path: o.output, kind: 'dir' }], 'get-data', () =>
      downloadPosters(jobs, {
        output: o.output,
        concurrency: o.concurrency,
        timeoutMs: Math.round(o.timeout * 1000),
        maxBytes: o.max_bytes,
        retries: o.retries,
        backoffMs: 500,
        seed: o.seed,
      }),
    );
    if (s.offline) throw offlineError(s);
    const failed = s.failures.length ? `, failed ${s.failures.length} (${groupFailures(s.failures)})` : ', failed 0';
    process.stdout.write(
      `${head}; downloaded ${s.downloaded}${s.replaced ? ` (${s.replaced} replaced invalid files)` : ''}, skipped ${s.present} already present${failed}; posters in ${o.output}\n`,
    );
    if (s.failures.length) {
      const list = path.join(o.output, FAILURES_LIST);
      const items = s.failures.map((f) => ({ file: `${f.imdbId} ${f.url}`, reason: f.reason }));
      await writeOwnedFile(list, skippedListText(items), '--output');
      for (const l of formatSkipped(items, 'get-data', list)) process.stderr.write(l + '\n');
    }
    if (o.resize) await resize(o.output, movies, o.ratio);
  });
  return cmd;
}
