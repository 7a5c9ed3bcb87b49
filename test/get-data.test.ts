/**
 * get-data against a local HTTP server on 127.0.0.1 (never anything else): real posters, a 404,
 * a response slower than the timeout, a body cut short, a 500 then 200, a body that is not an
 * image; then resume, and the all-offline case.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { backoffDelay } from '../src/features/download/fetch-poster.js';
import { OwnedDir, OWNED_LIST } from '../src/core/fs/ownership.js';
import { parseJpegHeader } from '../src/features/prepare/jpeg-check.js';
import { createRng } from '../src/core/random.js';
import { hasSharedData, REPO_ROOT, SHARED_POSTERS } from './helpers/shared-data.js';
import { dribble } from './helpers/dribble.js';

const BIN = path.join(REPO_ROOT, 'dist/cli/get-data.js');
const HEADER = 'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n';

let dir: string;
let server: Server;
let base: string;
const posterFiles = new Map<string, string>();
const hits = new Map<string, number>();

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function makePosters(): Promise<string[]> {
  const names = ['11.jpg', '12.jpg', '13.jpg'];
  if (hasSharedData) {
    const real = readdirSync(SHARED_POSTERS)
      .filter((n) => n.endsWith('.jpg'))
      .sort()
      .slice(0, names.length);
    real.forEach((n, i) => copyFileSync(path.join(SHARED_POSTERS, n), path.join(dir, 'served', names[i]!)));
  } else {
    for (const [i, n] of names.entries()) {
      await sharp({
        create: { width: 182, height: 268, channels: 3, background: { r: 40 * i, g: 90, b: 200 - 40 * i } },
      })
        .jpeg()
        .toFile(path.join(dir, 'served', n));
    }
  }
  for (const n of names) posterFiles.set(n, path.join(dir, 'served', n));
  return names;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'get-data-test-'));
  for (const d of ['served', 'out']) rmSync(path.join(dir, d), { recursive: true, force: true });
  await import('node:fs').then((fs) => fs.mkdirSync(path.join(dir, 'served')));
  await makePosters();
  server = createServer((req, res) => {
    const url = req.url ?? '';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const poster = /^\/posters\/(\d+\.jpg)$/.exec(url);
    if (poster && posterFiles.has(poster[1]!)) {
      const body = readFileSync(posterFiles.get(poster[1]!)!);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
      res.end(body);
    } else if (url === '/flaky.jpg') {
      if (hits.get(url) === 1) {
        res.writeHead(500).end('busy');
      } else {
        const body = readFileSync(posterFiles.get('11.jpg')!);
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
      }
    } else if (url === '/slow.jpg') {
      const t = setTimeout(() => res.writeHead(200).end('late'), 5000);
      res.on('close', () => clearTimeout(t));
    } else if (url === '/truncated.jpg') {
      const body = readFileSync(posterFiles.get('12.jpg')!);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length + 5000 });
      res.write(body.subarray(0, 600), () => res.destroy());
    } else if (url.startsWith('/dribble/')) {
      // A whole poster, sent in small pieces over ~1.5 s: long enough to kill the client mid-body.
      dribble(res, readFileSync(posterFiles.get('12.jpg')!), 15);
    } else if (url === '/notimage.jpg') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a poster</html>');
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeCsv(name: string, rows: [number, string, string][]): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    HEADER + rows.map(([id, title, url]) => `${id},l,${title},6,Drama,${url}`).join('\n') + '\n',
    'latin1',
  );
  return file;
}

/** What get-data left in out, besides its bookkeeping (the ownership list, the list of failures). */
function outFiles(out: string): string[] {
  return readdirSync(out)
    .filter((n) => n !== OWNED_LIST && n !== 'get-data-failures.txt')
    .sort();
}

test(
  'downloads, retries and classifies failures; no temp or partial file remains; a re-run skips',
  { timeout: 60_000 },
  async () => {
    const csv = writeCsv('movies.csv', [
      [11, 'Eleven (1990)', `${base}/posters/11.jpg`],
      [12, 'Twelve (1991)', `${base}/posters/12.jpg`],
      [13, 'Thirteen (1992)', `${base}/posters/13.jpg`],
      [14, 'Fourteen (1993)', `${base}/missing.jpg`],
      [15, 'Fifteen (1994)', `${base}/slow.jpg`],
      [16, 'Sixteen (1995)', `${base}/truncated.jpg`],
      [17, 'Seventeen (1996)', `${base}/flaky.jpg`],
      [18, 'Eighteen (1997)', `${base}/notimage.jpg`],
      [19, 'Nineteen (1998)', ''],
      [20, 'Twenty (1970)', `${base}/posters/11.jpg`],
    ]);
    const out = path.join(dir, 'out');
    // An invalid file of an earlier run (a cut JPEG, listed as ours) must be replaced, not trusted.
    await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
    writeFileSync(path.join(out, '13.jpg'), readFileSync(posterFiles.get('13.jpg')!).subarray(0, 300));
    await (await OwnedDir.open(out)).claim(['13.jpg']);

    const args = [
      '--csv',
      csv,
      '--output',
      out,
      '--download',
      '--min_year=1980',
      '--timeout',
      '0.5',
      '--retries',
      '1',
      '--concurrency',
      '4',
    ];
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /9 movies \(1980-\), 8 with a poster URL, 1 no URL/);
    assert.match(r.stdout, /downloaded 4 \(1 replaced invalid files\), skipped 0 already present, failed 4 \(/);
    for (const kind of ['HTTP 404 x1', 'timeout x1', 'truncated body x1', 'not an image x1'])
      assert.ok(r.stdout.includes(kind), `${kind} in ${r.stdout}`);
    assert.equal(hits.get('/flaky.jpg'), 2, '500 then 200: one retry');
    assert.equal(hits.get('/missing.jpg'), 1, 'a 404 is not retried');
    assert.equal(hits.get('/truncated.jpg'), 2, 'a cut body is retried');
    assert.deepEqual(outFiles(out), ['11.jpg', '12.jpg', '13.jpg', '17.jpg']);
    // Every failure is named on stderr and listed in full beside the posters.
    const listed = readFileSync(path.join(out, 'get-data-failures.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(listed.map((l) => l.split(' ')[0]).sort(), ['14', '15', '16', '18']);
    for (const id of ['14', '15', '16', '18']) assert.match(r.stderr, new RegExp(`^  skipped ${id} http`, 'm'));
    for (const f of outFiles(out)) {
      const bytes = readFileSync(path.join(out, f));
      assert.ok(parseJpegHeader(bytes), `${f} is a whole JPEG`);
      await sharp(bytes, { failOn: 'error' }).raw().toBuffer();
    }
    assert.deepEqual(readFileSync(path.join(out, '13.jpg')), readFileSync(posterFiles.get('13.jpg')!));

    const mtimes = outFiles(out).map((f) => statSync(path.join(out, f)).mtimeMs);
    const before11 = hits.get('/posters/11.jpg');
    const again = await run(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /downloaded 0, skipped 4 already present, failed 4/);
    assert.equal(hits.get('/posters/11.jpg'), before11, 'a valid poster already there is not fetched again');
    assert.deepEqual(
      outFiles(out).map((f) => statSync(path.join(out, f)).mtimeMs),
      mtimes,
    );
  },
);

test(
  '--download --resize keeps the poster as served and writes an sRGB copy at the ratio into <output>/<ratio>/',
  { timeout: 30_000 },
  async () => {
    const csv = writeCsv('resize.csv', [[11, 'Eleven (1990)', `${base}/posters/11.jpg`]]);
    const out = path.join(dir, 'resized');
    const r = await run(['--csv', csv, '--output', out, '--download', '--resize', '--ratio=30']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(path.join(out, '11.jpg')), readFileSync(posterFiles.get('11.jpg')!));
    const meta = await sharp(path.join(out, '30', '11.jpg')).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.space], [55, 80, 3, 'srgb']);
    assert.match(r.stdout, /resize: 1 posters at 55x80 in .*30: 1 written, 0 already done/);
  },
);

test(
  "the seed's get-data -resize -ratio=40 on posters already on disk (no download), idempotently",
  { timeout: 30_000 },
  async () => {
    const out = path.join(dir, 'on-disk');
    await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
    copyFileSync(posterFiles.get('11.jpg')!, path.join(out, '11.jpg'));
    copyFileSync(posterFiles.get('13.jpg')!, path.join(out, '13.jpg'));
    const csv = writeCsv('on-disk.csv', [
      [11, 'Eleven (1990)', ''],
      [13, 'Thirteen (1975)', ''],
      [14, 'Fourteen (1995)', ''],
    ]);
    const requests = (): number => [...hits.values()].reduce((a, b) => a + b, 0);
    const before = requests();
    const r = await run(['--csv', csv, '--output', out, '-resize', '-ratio=40', '-min_year=1980']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(requests(), before, 'no request without --download');
    assert.match(r.stdout, /resize: 1 posters at 73x107 in .*40: 1 written, 0 already done/);
    assert.deepEqual(outFiles(path.join(out, '40')), ['11.jpg'], 'only the posters of the selected years');
    assert.equal((await sharp(path.join(out, '40', '11.jpg')).metadata()).height, 107);
    const t = statSync(path.join(out, '40', '11.jpg')).mtimeMs;
    const again = await run(['--csv', csv, '--output', out, '-resize', '-ratio=40', '-min_year=1980']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 written, 1 already done/);
    assert.equal(statSync(path.join(out, '40', '11.jpg')).mtimeMs, t, 'not rewritten');
  },
);

test('without --download it reports what the CSV holds and what is already there', async () => {
  const out = path.join(dir, 'report');
  await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
  copyFileSync(posterFiles.get('11.jpg')!, path.join(out, '11.jpg'));
  const csv = writeCsv('report.csv', [
    [11, 'Eleven (1990)', `${base}/posters/11.jpg`],
    [12, 'Twelve (1991)', `${base}/posters/12.jpg`],
    [19, 'Nineteen (1998)', ''],
  ]);
  const before12 = hits.get('/posters/12.jpg') ?? 0;
  const r = await run(['--csv', csv, '--output', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /3 movies, 2 with a poster URL, 1 no URL; 1 posters already in .*; pass --download to fetch the 1 missing/,
  );
  assert.equal(hits.get('/posters/12.jpg') ?? 0, before12, 'no request without --download');
});

test('offline (every host refuses): one clear line, non-zero exit, nothing written', { timeout: 60_000 }, async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const rows = Array.from(
    { length: 20 },
    (_, i) => [100 + i, `Movie ${i} (2000)`, `http://127.0.0.1:${port}/p${i}.jpg`] as [number, string, string],
  );
  const csv = writeCsv('offline.csv', rows);
  const out = path.join(dir, 'offline');
  const r = await run(['--csv', csv, '--output', out, '--download', '--retries', '1', '--concurrency', '4']);
  assert.equal(r.code, 1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(
    errors[0]!,
    /^error: cannot reach any poster host \(connection refused: ECONNREFUSED at 127\.0\.0\.1:\d+, \d+ attempts\)/,
  );
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(existsSync(out), false, 'nothing written, not even the folder');
});

test(
  'killed mid-download: no partial JPEG under a poster name; the next run finishes the job',
  { timeout: 60_000 },
  async () => {
    const rows = Array.from(
      { length: 4 },
      (_, i) => [200 + i, `Slow ${i} (2001)`, `${base}/dribble/${i}.jpg`] as [number, string, string],
    );
    const csv = writeCsv('killed.csv', rows);
    const out = path.join(dir, 'killed');
    const args = ['--csv', csv, '--output', out, '--download', '--concurrency', '4'];
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = execFile(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '1' } });
      child.on('exit', (_code, signal) => resolve(signal));
      // Kill once the bodies are flowing (the server has seen all four requests).
      const poll = setInterval(() => {
        if (rows.every((r) => hits.has(`/dribble/${r[0] - 200}.jpg`))) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGKILL'), 300);
        }
      }, 50);
    });
    assert.equal(killed, 'SIGKILL');
    const left = readdirSync(out);
    for (const f of left.filter((n) => n.endsWith('.jpg')))
      assert.ok(parseJpegHeader(readFileSync(path.join(out, f))), `${f} is whole`);
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(outFiles(out), ['200.jpg', '201.jpg', '202.jpg', '203.jpg']);
  },
);

test('a bad flag is one line naming it, exit 2', async () => {
  const r = await run(['--csv', path.join(dir, 'nope.csv')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^error: .*--csv.*nope\.csv does not exist$/);
});

test('backoff doubles per retry with seeded jitter (same seed, same delays)', () => {
  const a = createRng(3, 'get-data-backoff');
  const b = createRng(3, 'get-data-backoff');
  const da = [0, 1, 2, 3].map((i) => backoffDelay(i, 100, a));
  const db = [0, 1, 2, 3].map((i) => backoffDelay(i, 100, b));
  assert.deepEqual(da, db);
  da.forEach((d, i) => assert.ok(d >= 100 * 2 ** i && d <= 150 * 2 ** i, `delay ${i} = ${d}`));
});
