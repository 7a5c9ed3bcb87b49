/**
 * Other people's files and other runs: every command that writes, pointed at folders holding
 * files it did not write (checksums of those files before and after must be equal), against an
 * output another run holds (refused, exit 2, naming the holder), a stale lock of a dead run
 * (taken over, with a line saying so), two real `dcgan train` on one output (one refused, the
 * other intact), and inputs it must skip by name (broken posters, a symlink to /dev/zero).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { acquireLock, LOCK_NAME } from '../src/core/fs/lock.js';
import { errorLines, hasStackTrace, runCli, startCli, collect } from './helpers/run-cli.js';
import { TINY_CLASSIFIER_RUN, TINY_DCGAN_RUN } from './helpers/tiny-flags.js';

interface Ctx {
  root: string;
  csv: string;
  posters: string;
  prepared: string;
  samples: string;
  models: string;
  /** A CSV whose Poster URLs point at the test's 127.0.0.1 server. */
  urlCsv: string;
}

let ctx: Ctx;
let server: http.Server;

/** A pid that is certainly not running: a child that has already exited. */
const deadPid = (): number =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

before(async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'reliability-hostile-'));
  const syn = path.join(root, 'syn');
  const s = await runCli(['synth', '--output', syn, '--count', '24', '--seed', '4']);
  assert.equal(s.code, 0, s.stderr);
  const csv = path.join(syn, 'MovieGenre.csv');
  const posters = path.join(syn, 'posters');
  const prepared = path.join(root, 'prepared');
  assert.equal(
    (await runCli(['prepare-dcgan', '--csv', csv, '--input', posters, '--output', prepared, '--ratio', '30'])).code,
    0,
  );
  const samples = path.join(root, 'samples');
  const d = await runCli(['dcgan', 'train', '--input', prepared, '--output', samples, ...TINY_DCGAN_RUN]);
  assert.equal(d.code, 0, d.stderr);
  const models = path.join(root, 'models');
  const m = await runCli([
    'classifier',
    'train',
    '--csv',
    csv,
    '--data',
    posters,
    '--models',
    models,
    ...TINY_CLASSIFIER_RUN,
  ]);
  assert.equal(m.code, 0, m.stderr);
  const jpeg = readFileSync(
    path.join(
      posters,
      readdirSync(posters).find((n) => n.endsWith('.jpg'))!,
    ),
  );
  server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const urlCsv = path.join(root, 'urls.csv');
  writeFileSync(
    urlCsv,
    'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n' +
      [1, 2, 3].map((i) => `${i},x,M${i} (1999),,Drama,${url}/${i}.jpg`).join('\n') +
      '\n',
  );
  ctx = { root, csv, posters, prepared, samples, models, urlCsv };
});

after(() => {
  server?.close();
  if (ctx) rmSync(ctx.root, { recursive: true, force: true });
});

/** Writes someone else's file (creating folders) and returns its path. */
function foreign(file: string, text = `someone else's ${path.basename(file)}\n`): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

interface Case {
  name: string;
  /** Makes the folder (earlier runs, foreign files); returns the foreign files to watch. */
  setup: (c: Ctx, out: string) => Promise<string[]>;
  args: (c: Ctx, out: string) => string[];
  code: number;
  /** The one error line (code 2), or a line stderr must hold (code 0). */
  expect: RegExp;
  check?: (c: Ctx, out: string) => void;
}

const CASES: Case[] = [
  {
    name: 'dcgan train --fresh --checkpoint_dir DIR holding a thesis and a sub-folder',
    setup: async (c, out) => {
      const r = await runCli([
        'dcgan',
        'train',
        '--input',
        c.prepared,
        '--output',
        path.join(out, 'run'),
        '--checkpoint_dir',
        path.join(out, 'ck'),
        ...TINY_DCGAN_RUN,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return [
        foreign(path.join(out, 'ck/thesis.txt')),
        foreign(path.join(out, 'ck/sub/notes.txt')),
        foreign(path.join(out, 'run/grid_notes.txt')),
      ];
    },
    args: (c, out) => [
      'dcgan',
      'train',
      '--input',
      c.prepared,
      '--output',
      path.join(out, 'run'),
      '--checkpoint_dir',
      path.join(out, 'ck'),
      '--fresh',
      ...TINY_DCGAN_RUN,
    ],
    code: 0,
    expect: /--fresh: removed \d+ files of the earlier run \(only files poster-studio wrote\)/,
  },
  {
    name: 'dcgan train into --output holding a grid_000100.png it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 'grid_000100.png'))],
    args: (c, out) => ['dcgan', 'train', '--input', c.prepared, '--output', out, ...TINY_DCGAN_RUN],
    code: 2,
    expect:
      /holds a file poster-studio did not write \(grid_000100\.png\); dcgan train writes .*choose another --output/,
  },
  {
    name: "dcgan train --fresh into --output holding someone's losses.csv",
    setup: async (_c, out) => [foreign(path.join(out, 'losses.csv'))],
    args: (c, out) => ['dcgan', 'train', '--input', c.prepared, '--output', out, '--fresh', ...TINY_DCGAN_RUN],
    code: 2,
    expect: /\(losses\.csv\)/,
  },
  {
    name: 'prepare-dcgan --output holding a foreign manifest.json',
    setup: async (_c, out) => [foreign(path.join(out, 'manifest.json'), '{"version":1,"kept":[]}')],
    args: (c, out) => ['prepare-dcgan', '--csv', c.csv, '--input', c.posters, '--output', out, '--ratio', '30'],
    code: 2,
    expect: /\(manifest\.json\); prepare-dcgan writes <imdbId>\.jpg and manifest\.json there/,
  },
  {
    name: 'prepare-dcgan re-run: .cache.tmp/, .bashrc.tmp and notes beside its own files stay; its dead temp goes',
    setup: async (c, out) => {
      assert.equal(
        (await runCli(['prepare-dcgan', '--csv', c.csv, '--input', c.posters, '--output', out, '--ratio', '30'])).code,
        0,
      );
      writeFileSync(path.join(out, `.1.jpg.ps-${deadPid()}-0.tmp`), 'a killed run');
      return [
        foreign(path.join(out, '.cache.tmp/important.txt')),
        foreign(path.join(out, '.bashrc.tmp')),
        foreign(path.join(out, 'notes.txt')),
      ];
    },
    args: (c, out) => [
      'prepare-dcgan',
      '--csv',
      c.csv,
      '--input',
      c.posters,
      '--output',
      out,
      '--ratio',
      '30',
      '--min_year',
      '1990',
    ],
    code: 0,
    expect: /prepare-dcgan: kept/,
    check: (_c, out) =>
      assert.deepEqual(
        readdirSync(out).filter((n) => n.endsWith('.tmp') && n.includes('.ps-')),
        [],
        'the dead temp is gone',
      ),
  },
  {
    name: 'get-data --download into a folder with a broken poster it did not write',
    setup: async (_c, out) => [
      foreign(path.join(out, '2.jpg'), 'not a poster'),
      foreign(path.join(out, '.bashrc.tmp')),
    ],
    args: (c, out) => ['get-data', '--csv', c.urlCsv, '--output', out, '--download', '--retries', '0'],
    code: 0,
    expect:
      /^ {2}skipped 2 http.*: not replaced: .*2\.jpg is not a valid poster and was not written by poster-studio$/m,
    check: (_c, out) =>
      assert.ok(existsSync(path.join(out, '1.jpg')) && existsSync(path.join(out, '3.jpg')), 'the others downloaded'),
  },
  {
    name: 'classifier train into models/<name> holding a model.json it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 't/model.json'))],
    args: (c, out) => [
      'classifier',
      'train',
      '--csv',
      c.csv,
      '--data',
      c.posters,
      '--models',
      out,
      ...TINY_CLASSIFIER_RUN,
    ],
    code: 2,
    expect: /t holds a file poster-studio did not write \(model\.json\); classifier train writes/,
  },
  {
    name: 'report --output an existing page it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 'report.html'))],
    args: (c, out) => [
      'report',
      '--samples',
      c.samples,
      '--model',
      path.join(c.models, 't'),
      '--output',
      path.join(out, 'report.html'),
    ],
    code: 2,
    expect: /--output: .*report\.html exists and was not written by poster-studio/,
  },
  {
    name: "dcgan render --output someone's video",
    setup: async (_c, out) => [foreign(path.join(out, 'holiday.mp4'))],
    args: (c, out) => ['dcgan', 'render', '--input', c.samples, '--output', path.join(out, 'holiday.mp4')],
    code: 2,
    expect: /holiday\.mp4 exists and was not written by poster-studio/,
  },
  {
    name: 'dcgan generate --output holding a grid.png it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 'grid.png')), foreign(path.join(out, 'posters/poster_0002.png'))],
    args: (c, out) => ['dcgan', 'generate', '--checkpoint', c.samples, '--output', out, '--count', '4'],
    code: 2,
    expect: /holds 2 files poster-studio did not write \(grid\.png, posters\/poster_0002\.png\)/,
  },
  {
    name: 'classify --csv an existing sheet it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 'sheet.csv'))],
    args: (c, out) => [
      'classify',
      c.posters,
      '--model',
      path.join(c.models, 't'),
      '--csv',
      path.join(out, 'sheet.csv'),
    ],
    code: 2,
    expect: /--csv: .*sheet\.csv exists and was not written by poster-studio/,
  },
  {
    name: 'synth --output holding a MovieGenre.csv it did not write',
    setup: async (_c, out) => [foreign(path.join(out, 'MovieGenre.csv'))],
    args: (_c, out) => ['synth', '--output', out, '--count', '5'],
    code: 2,
    expect: /\(MovieGenre\.csv\); synth writes/,
  },
  {
    name: 'fid with a fid.json it did not write in --samples',
    setup: async (c, out) => {
      mkdirSync(out, { recursive: true });
      for (const n of readdirSync(c.samples))
        if (/^grid_.*\.(png|json)$/.test(n)) copyFileSync(path.join(c.samples, n), path.join(out, n));
      return [foreign(path.join(out, 'fid.json'))];
    },
    args: (c, out) => [
      'fid',
      '--samples',
      out,
      '--real',
      c.posters,
      '--model',
      path.join(c.models, 't'),
      '--real_count',
      '8',
      '--noise_count',
      '0',
    ],
    code: 2,
    expect: /--samples: .*fid\.json exists and was not written by poster-studio/,
  },
];

CASES.forEach((c, i) => {
  test(`foreign files ${i + 1}/${CASES.length}: ${c.name}`, { timeout: 120_000 }, async () => {
    const out = path.join(ctx.root, `foreign-${i + 1}`);
    const watched = await c.setup(ctx, out);
    const before = watched.map(sha);
    const r = await runCli(c.args(ctx, out));
    const where = `${c.args(ctx, out).join(' ')}\nexit ${r.code}\n${r.stderr}`;
    assert.equal(r.code, c.code, where);
    assert.equal(hasStackTrace(r.stderr), false, where);
    if (c.code === 2) {
      assert.deepEqual(errorLines(r.stderr).length, 1, where);
      assert.match(errorLines(r.stderr)[0]!, c.expect, where);
    } else {
      assert.match(r.stderr + r.stdout, c.expect, where);
    }
    assert.deepEqual(
      watched.map((f) => (existsSync(f) ? sha(f) : 'deleted')),
      before,
      `foreign files untouched: ${where}`,
    );
    c.check?.(ctx, out);
  });
});

/** Each command that takes a lock, on an output this test process holds. */
const LOCKED: {
  name: string;
  target: (c: Ctx, out: string) => { path: string; kind: 'dir' | 'file' };
  args: (c: Ctx, out: string) => string[];
}[] = [
  {
    name: 'dcgan train',
    target: (_c, o) => ({ path: o, kind: 'dir' }),
    args: (c, o) => ['dcgan', 'train', '--input', c.prepared, '--output', o, ...TINY_DCGAN_RUN],
  },
  {
    name: 'prepare-dcgan',
    target: (_c, o) => ({ path: o, kind: 'dir' }),
    args: (c, o) => ['prepare-dcgan', '--csv', c.csv, '--input', c.posters, '--output', o, '--ratio', '30'],
  },
  {
    name: 'get-data --download',
    target: (_c, o) => ({ path: o, kind: 'dir' }),
    args: (c, o) => ['get-data', '--csv', c.urlCsv, '--output', o, '--download'],
  },
  {
    name: 'classifier train',
    target: (_c, o) => ({ path: path.join(o, 't'), kind: 'dir' }),
    args: (c, o) => ['classifier', 'train', '--csv', c.csv, '--data', c.posters, '--models', o, ...TINY_CLASSIFIER_RUN],
  },
  {
    name: 'synth',
    target: (_c, o) => ({ path: o, kind: 'dir' }),
    args: (_c, o) => ['synth', '--output', o, '--count', '5'],
  },
  {
    name: 'report',
    target: (_c, o) => ({ path: path.join(o, 'r.html'), kind: 'file' }),
    args: (c, o) => [
      'report',
      '--samples',
      c.samples,
      '--output',
      path.join(o, 'r.html'),
      '--models',
      path.join(o, 'none'),
    ],
  },
  {
    name: 'dcgan render',
    target: (_c, o) => ({ path: path.join(o, 'v.mp4'), kind: 'file' }),
    args: (c, o) => ['dcgan', 'render', '--input', c.samples, '--output', path.join(o, 'v.mp4')],
  },
  {
    name: 'dcgan generate',
    target: (_c, o) => ({ path: o, kind: 'dir' }),
    args: (c, o) => ['dcgan', 'generate', '--checkpoint', c.samples, '--output', o, '--count', '4'],
  },
];

test(
  `locks: ${LOCKED.length} commands refuse an output another run holds, naming it; exit 2`,
  { timeout: 300_000 },
  async () => {
    for (const [i, l] of LOCKED.entries()) {
      const out = path.join(ctx.root, `locked-${i + 1}`);
      const t = l.target(ctx, out);
      const lock = await acquireLock(t.path, t.kind, 'test holder');
      try {
        const r = await runCli(l.args(ctx, out));
        const where = `${l.name}: exit ${r.code}\n${r.stderr}`;
        assert.equal(r.code, 2, where);
        assert.equal(errorLines(r.stderr).length, 1, where);
        assert.match(
          errorLines(r.stderr)[0]!,
          new RegExp(`is in use by poster-studio test holder \\(pid ${process.pid} on ${os.hostname()}, started `),
          where,
        );
        assert.ok(existsSync(lock.file), `${l.name}: the holder's lock is left alone`);
      } finally {
        await lock.release();
      }
    }
  },
);

test('a stale lock of a dead run on this host is taken over with a line saying so', { timeout: 60_000 }, async () => {
  const out = path.join(ctx.root, 'stale');
  const pid = deadPid();
  foreign(
    path.join(out, LOCK_NAME),
    JSON.stringify({
      tool: 'poster-studio',
      command: 'prepare-dcgan',
      pid,
      host: os.hostname(),
      started: '2026-01-01T00:00:00.000Z',
    }),
  );
  const r = await runCli(['prepare-dcgan', '--csv', ctx.csv, '--input', ctx.posters, '--output', out, '--ratio', '30']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `note: took over the lock of poster-studio prepare-dcgan \\(pid ${pid} on .*\\), which is no longer running`,
    ),
  );
  assert.equal(existsSync(path.join(out, LOCK_NAME)), false, 'released at the end');
});

test('a lock held on another host is never taken over (its pid cannot be checked from here)', async () => {
  const out = path.join(ctx.root, 'other-host');
  const file = foreign(
    path.join(out, LOCK_NAME),
    JSON.stringify({
      tool: 'poster-studio',
      command: 'dcgan train',
      pid: deadPid(),
      host: 'elsewhere.example',
      started: '2026-01-01T00:00:00.000Z',
    }),
  );
  const err = await acquireLock(out, 'dir', 'test').then(
    () => null,
    (e: Error) => e,
  );
  assert.match(
    err?.message ?? '',
    /is in use by poster-studio dcgan train \(pid \d+ on elsewhere\.example, .*if that run is gone, delete .*\.poster-studio\.lock/,
  );
  assert.ok(existsSync(file), 'left in place');
});

test(
  'two dcgan train on one output: the second is refused naming the first, which ends intact',
  { timeout: 180_000 },
  async () => {
    const out = path.join(ctx.root, 'twice');
    const args = [
      'dcgan',
      'train',
      '--input',
      ctx.prepared,
      '--output',
      out,
      ...TINY_DCGAN_RUN,
      '--iterations',
      '150',
      '--sample_rate',
      '50',
      '--checkpoint_rate',
      '50',
    ];
    const first = startCli(args);
    const firstDone = collect(first, 150_000);
    const lockFile = path.join(out, LOCK_NAME);
    for (let i = 0; i < 600 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(lockFile), 'the first run holds the lock');
    const second = await runCli(args);
    const a = await firstDone;
    assert.equal(second.code, 2, second.stderr);
    assert.match(
      errorLines(second.stderr)[0] ?? '',
      new RegExp(`is in use by poster-studio dcgan train \\(pid ${first.pid} `),
    );
    assert.equal(a.code, 0, a.stderr);
    const rows = readFileSync(path.join(out, 'losses.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[0]));
    assert.deepEqual(
      rows,
      Array.from({ length: 150 }, (_, k) => k + 1),
      'one whole row per iteration, none repeated',
    );
  },
);

test(
  'prepare-dcgan names the posters it skips (first ten and where the full list is), a /dev/zero symlink included',
  { timeout: 60_000 },
  async () => {
    const input = path.join(ctx.root, 'broken-posters');
    mkdirSync(input);
    const names = readdirSync(ctx.posters)
      .filter((n) => n.endsWith('.jpg'))
      .sort();
    for (const n of names) copyFileSync(path.join(ctx.posters, n), path.join(input, n));
    const bad = names.slice(0, 3);
    for (const n of bad) writeFileSync(path.join(input, n), 'broken');
    rmSync(path.join(input, names[3]!));
    symlinkSync('/dev/zero', path.join(input, names[3]!));
    const out = path.join(ctx.root, 'broken-out');
    const r = await runCli(['prepare-dcgan', '--csv', ctx.csv, '--input', input, '--output', out, '--ratio', '30'], {
      timeoutMs: 50_000,
    });
    assert.equal(r.timedOut, false, 'a /dev/zero poster is not read forever');
    assert.equal(r.code, 0, r.stderr);
    for (const n of bad) assert.match(r.stderr, new RegExp(`^ {2}.*${n}: cannot decode`, 'm'));
    assert.match(r.stderr, new RegExp(`^ {2}.*${names[3]}: cannot decode.*not a regular file`, 'm'));
    assert.match(r.stderr, /the full list is in .*manifest\.json \("skipped"\)/);
  },
);
