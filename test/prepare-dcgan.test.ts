/**
 * prepare-dcgan as a user runs it (the built bin as a child process): on the real posters it keeps
 * exactly what an independent reading of the CSV says, all sRGB 3-channel JPEGs at the ratio's
 * size, idempotently; on small made-up inputs: grayscale/CMYK/bad files, unknown genres,
 * a changed selection.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { MAX_IMAGE_BYTES, MAX_INPUT_PIXELS, srgbPipeline } from '../src/core/images/decode.js';
import { parseJpegHeader } from '../src/features/prepare/jpeg-check.js';
import { readManifest as loadManifest, type Manifest } from '../src/artifacts/manifest.js';
import { loadNativeJpeg } from '../src/features/prepare/native-jpeg.js';
import { REPO_ROOT, SHARED_CSV, SHARED_POSTERS, sharedDataMissing } from './helpers/shared-data.js';

const BIN = path.join(REPO_ROOT, 'dist/cli/prepare-dcgan.js');

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prepare-dcgan-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, CI: '1' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const readManifest = (out: string): Manifest =>
  JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
const jpgs = (out: string): string[] =>
  readdirSync(out)
    .filter((n) => n.endsWith('.jpg'))
    .sort();

/** The CSV's movies (first row of each imdbId), read without the project's dataset layer. */
function csvMovies(): Map<number, { year: number | null; genres: string[] }> {
  const rows = parse(readFileSync(SHARED_CSV).toString('latin1'), {
    columns: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
  }) as Record<string, string>[];
  const seen = new Map<number, { year: number | null; genres: string[] }>();
  for (const r of rows) {
    const id = Number(r.imdbId);
    if (!Number.isInteger(id) || seen.has(id)) continue;
    const m = /\((\d{4})\)\s*$/.exec((r.Title ?? '').trim());
    seen.set(id, { year: m ? Number(m[1]) : null, genres: (r.Genre ?? '').split('|').filter(Boolean) });
  }
  return seen;
}

/** The posters on disk whose movie passes `keep`. */
function expectedWith(keep: (m: { year: number | null; genres: string[] }) => boolean): Set<number> {
  const seen = csvMovies();
  const out = new Set<number>();
  for (const name of readdirSync(SHARED_POSTERS)) {
    const movie = seen.get(Number(name.replace(/\.jpg$/, '')));
    if (movie && keep(movie)) out.add(Number(name.replace(/\.jpg$/, '')));
  }
  return out;
}

/** The expected strict selection: no excluded genre at all. */
const expectedIds = (minYear: number, exclude: string[]): Set<number> =>
  expectedWith((m) => m.year !== null && m.year >= minYear && !m.genres.some((g) => exclude.includes(g)));

/** prepare_dcgan_dataset.py's rule, written out from its source: any genre of the 14 minus the excluded, valid movies only. */
const SEED_14 = [
  'Comedy',
  'Drama',
  'Action',
  'Animation',
  'Romance',
  'Adventure',
  'Horror',
  'Sci-Fi',
  'Crime',
  'Mystery',
  'Thriller',
  'War',
  'Family',
  'Western',
];
const expectedSeedIds = (minYear: number, maxYear: number, exclude: string[]): Set<number> =>
  expectedWith(
    (m) =>
      m.year !== null &&
      m.year >= 1900 &&
      m.year <= 2018 &&
      m.genres.length >= 2 &&
      m.year >= minYear &&
      m.year <= maxYear &&
      m.genres.some((g) => SEED_14.includes(g) && !exclude.includes(g)),
  );

test(
  'real posters: keeps exactly the expected set, sRGB 3-channel at 109x161, idempotent re-run',
  { skip: sharedDataMissing, timeout: 180_000 },
  async () => {
    const out = path.join(dir, 'real');
    const args = [
      '--csv',
      SHARED_CSV,
      '--input',
      SHARED_POSTERS,
      '--output',
      out,
      '--min_year=1980',
      '--exclude_genres=Animation,Comedy',
    ];
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    const expected = expectedIds(1980, ['Animation', 'Comedy']);
    assert.ok(expected.size > 3000 && expected.size < 3800, `about 3,400 expected, computed ${expected.size}`);

    const files = jpgs(out);
    assert.deepEqual(
      files,
      [...expected]
        .sort((a, b) => a - b)
        .map((id) => `${id}.jpg`)
        .sort(),
    );
    const m = readManifest(out);
    assert.deepEqual(m.params, {
      min_year: 1980,
      max_year: null,
      include_genres: [],
      exclude_genres: ['Animation', 'Comedy'],
      ratio: 60,
      selection: 'strict',
    });
    assert.deepEqual(m.size, { width: 109, height: 161 });
    assert.deepEqual(
      m.kept.map((k) => k.imdbId).sort((a, b) => a - b),
      [...expected].sort((a, b) => a - b),
    );
    for (const k of m.kept) {
      assert.equal(k.file, `${k.imdbId}.jpg`);
      assert.ok(k.year !== null && k.year >= 1980);
      assert.ok(!k.genres.includes('Animation') && !k.genres.includes('Comedy'));
    }
    assert.match(r.stdout, new RegExp(`kept ${expected.size} \\(${expected.size} converted`));
    const reasons = new Set(m.skipped.map((s) => s.reason));
    for (const reason of ['excluded genre', 'before min_year', 'no year in title'])
      assert.ok(reasons.has(reason), reason);

    for (const f of files) {
      const meta = await sharp(path.join(out, f)).metadata();
      assert.deepEqual(
        [meta.format, meta.width, meta.height, meta.channels, meta.space],
        ['jpeg', 109, 161, 3, 'srgb'],
        f,
      );
    }

    const mtimes = files.map((f) => statSync(path.join(out, f)).mtimeMs);
    const again = await run(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`kept ${expected.size} \\(0 converted, ${expected.size} already done\\)`));
    assert.deepEqual(jpgs(out), files);
    assert.deepEqual(
      files.map((f) => statSync(path.join(out, f)).mtimeMs),
      mtimes,
      'no file rewritten',
    );
    assert.deepEqual(readManifest(out).kept, m.kept);
  },
);

test(
  "real posters: --selection=seed keeps the seed's set (the seed README's command, single dashes)",
  { skip: sharedDataMissing, timeout: 180_000 },
  async () => {
    const out = path.join(dir, 'real-seed');
    const r = await run([
      '--csv',
      SHARED_CSV,
      '--input',
      SHARED_POSTERS,
      '--output',
      out,
      '--selection=seed',
      '-min_year=1980',
      '-exclude_genres=Animation,Comedy,Family',
      '-ratio=30',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const expected = expectedSeedIds(1980, 2017, ['Animation', 'Comedy', 'Family']);
    const strict = expectedIds(1980, ['Animation', 'Comedy', 'Family']);
    assert.notDeepEqual([...expected].sort(), [...strict].sort(), 'the two rules select different sets here');
    const m = readManifest(out);
    assert.deepEqual(
      m.kept.map((k) => k.imdbId).sort((a, b) => a - b),
      [...expected].sort((a, b) => a - b),
    );
    assert.deepEqual(m.params, {
      min_year: 1980,
      max_year: 2017,
      include_genres: [],
      exclude_genres: ['Animation', 'Comedy', 'Family'],
      ratio: 30,
      selection: 'seed',
    });
    assert.match(r.stdout, new RegExp(`kept ${expected.size} .* at 55x80 \\(seed selection\\)`));
    // "Comedy|Drama" is kept under the seed's rule although Comedy is excluded.
    assert.ok(
      m.kept.some((k) => k.genres.includes('Comedy')),
      'a movie with an excluded genre and an allowed one is kept',
    );
  },
);

test(
  '--selection=seed on a small set: any allowed genre, at least 2 genres, years 1900-2018, max_year 2017 and ratio 50 by default',
  { timeout: 60_000 },
  async () => {
    const input = path.join(dir, 'seed-in');
    mkdirSync(input, { recursive: true });
    const poster = await sharp({
      create: { width: 182, height: 268, channels: 3, background: { r: 20, g: 90, b: 160 } },
    })
      .jpeg()
      .toBuffer();
    for (const id of [1, 2, 3, 4, 5, 6, 7]) writeFileSync(path.join(input, `${id}.jpg`), poster);
    const csv = path.join(dir, 'seed.csv');
    writeFileSync(
      csv,
      'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n' +
        '1,l,Mixed (1990),7,Comedy|Drama,\n2,l,Only comedy (1990),7,Comedy|Animation,\n3,l,One genre (1990),7,Drama,\n' +
        '4,l,Too new (2018),7,Drama|War,\n5,l,Old (1899),7,Drama|War,\n6,l,Not in 14 (1990),7,Biography|History,\n7,l,Strict too (1991),7,Drama|War,\n',
      'latin1',
    );
    const out = path.join(dir, 'seed-out');
    const seed = await run([
      '--csv',
      csv,
      '--input',
      input,
      '--output',
      out,
      '--selection',
      'seed',
      '-exclude_genres=Comedy,Animation',
    ]);
    assert.equal(seed.code, 0, seed.stderr);
    const m = readManifest(out);
    assert.deepEqual(
      m.kept.map((k) => k.imdbId),
      [1, 7],
    );
    assert.deepEqual(m.size, { width: 91, height: 134 }, 'ratio 50');
    const reason = (id: number) => m.skipped.find((s) => s.imdbId === id)?.reason;
    assert.deepEqual([2, 3, 4, 5, 6].map(reason), [
      'no allowed genre',
      'not valid: fewer than 2 genres',
      'after max_year',
      'not valid: year outside 1900-2018',
      'no allowed genre',
    ]);
    const strictOut = path.join(dir, 'strict-out');
    const strict = await run([
      '--csv',
      csv,
      '--input',
      input,
      '--output',
      strictOut,
      '-exclude_genres=Comedy,Animation',
    ]);
    assert.equal(strict.code, 0, strict.stderr);
    assert.deepEqual(
      readManifest(strictOut).kept.map((k) => k.imdbId),
      [3, 4, 5, 6, 7],
    );
    assert.equal(readManifest(strictOut).params.selection, 'strict');
  },
);

/** A small poster set: colour, grayscale, CMYK, a broken file, and one the CSV does not know. */
async function makeSmallSet(): Promise<{ csv: string; input: string }> {
  const input = path.join(dir, 'small-in');
  mkdirSync(input, { recursive: true });
  const base = () => sharp({ create: { width: 182, height: 268, channels: 3, background: { r: 200, g: 60, b: 30 } } });
  await base().jpeg().toFile(path.join(input, '1.jpg'));
  await base().toColourspace('b-w').jpeg().toFile(path.join(input, '2.jpg'));
  await base().toColourspace('cmyk').jpeg().toFile(path.join(input, '3.jpg'));
  writeFileSync(path.join(input, '4.jpg'), (await base().jpeg().toBuffer()).subarray(0, 200));
  await base().jpeg().toFile(path.join(input, '5.jpg'));
  await base().jpeg().toFile(path.join(input, '99.jpg'));
  const csv = path.join(dir, 'small.csv');
  writeFileSync(
    csv,
    'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n' +
      '1,l,Colour (1990),7,Drama,\n2,l,Gray (1985),7,Drama|Horror,\n3,l,Cmyk (2001),7,Action,\n' +
      '4,l,Broken (1999),7,Drama,\n5,l,Funny (1995),7,Comedy,\n6,l,No file (1996),7,Drama,\n',
    'latin1',
  );
  return { csv, input };
}

test(
  'grayscale and CMYK become 3-channel sRGB; bad files, unknown ids and missing posters are skipped with reasons',
  { timeout: 60_000 },
  async () => {
    const { csv, input } = await makeSmallSet();
    const out = path.join(dir, 'small-out');
    const gray = await sharp(path.join(input, '2.jpg')).metadata();
    const cmyk = await sharp(path.join(input, '3.jpg')).metadata();
    assert.deepEqual(
      [gray.channels, gray.space, cmyk.channels, cmyk.space],
      [1, 'b-w', 4, 'cmyk'],
      'the inputs are what the test says',
    );
    const r = await run([
      '--csv',
      csv,
      '--input',
      input,
      '--output',
      out,
      '--ratio',
      '30',
      '--exclude_genres',
      'comedy',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jpgs(out), ['1.jpg', '2.jpg', '3.jpg']);
    for (const f of jpgs(out)) {
      const meta = await sharp(path.join(out, f)).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels, meta.space], [55, 80, 3, 'srgb'], f);
    }
    // The grayscale poster keeps its grey: R = G = B after the conversion.
    const { data } = await sharp(path.join(out, '2.jpg')).raw().toBuffer({ resolveWithObject: true });
    assert.ok(Math.abs(data[0]! - data[1]!) <= 2 && Math.abs(data[1]! - data[2]!) <= 2);
    const m = readManifest(out);
    const reasonOf = (id: number) => m.skipped.find((s) => s.imdbId === id)?.reason ?? '';
    assert.match(reasonOf(4), /^cannot decode: /);
    assert.equal(reasonOf(5), 'excluded genre');
    assert.equal(reasonOf(6), 'no poster');
    assert.equal(reasonOf(99), 'not in CSV');
    assert.deepEqual(
      m.kept.map((k) => [k.imdbId, k.file, k.year, k.genres]),
      [
        [1, '1.jpg', 1990, ['Drama']],
        [2, '2.jpg', 1985, ['Drama', 'Horror']],
        [3, '3.jpg', 2001, ['Action']],
      ],
    );
    assert.match(r.stdout, /kept 3 .*skipped 4 \(/);
    assert.deepEqual(await loadManifest(out), m, 'the reader the DCGAN can import gives the same manifest');
    assert.equal(
      readFileSync(path.join(out, 'manifest.json'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"imdbId"')).length,
      7,
      'one poster per line',
    );
    assert.deepEqual(
      readdirSync(out).filter((n) => n.endsWith('.tmp')),
      [],
    );

    // A narrower selection removes what it no longer keeps and redoes nothing else.
    const t1 = statSync(path.join(out, '1.jpg')).mtimeMs;
    const narrower = await run([
      '--csv',
      csv,
      '--input',
      input,
      '--output',
      out,
      '--ratio',
      '30',
      '--exclude_genres',
      'comedy',
      '--min_year',
      '1988',
    ]);
    assert.equal(narrower.code, 0, narrower.stderr);
    assert.deepEqual(jpgs(out), ['1.jpg', '3.jpg']);
    assert.equal(statSync(path.join(out, '1.jpg')).mtimeMs, t1);
    assert.equal(readManifest(out).skipped.find((s) => s.imdbId === 2)?.reason, 'before min_year');

    // Another ratio redoes every file at the new size.
    const bigger = await run([
      '--csv',
      csv,
      '--input',
      input,
      '--output',
      out,
      '--ratio',
      '40',
      '--exclude_genres',
      'comedy',
      '--min_year',
      '1988',
    ]);
    assert.equal(bigger.code, 0, bigger.stderr);
    assert.match(bigger.stdout, /kept 2 \(2 converted, 0 already done\) at 73x107/);
    assert.equal((await sharp(path.join(out, '1.jpg')).metadata()).width, 73);
  },
);

test(
  'an --output holding <digits>.jpg files it did not make is refused in one line, and they are kept',
  { timeout: 30_000 },
  async () => {
    const { csv, input } = await makeSmallSet();
    const out = path.join(dir, 'foreign');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, '555.jpg'), "someone else's file");
    const r = await run(['--csv', csv, '--input', input, '--output', out, '--ratio', '30']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^error: .*foreign holds a file poster-studio did not write \(555\.jpg\); prepare-dcgan writes/,
    );
    assert.deepEqual(readdirSync(out), ['555.jpg']);
    assert.equal(readFileSync(path.join(out, '555.jpg'), 'utf8'), "someone else's file");
  },
);

test('an unknown genre is one line listing the valid ones, exit 2, nothing written', async () => {
  const { csv, input } = await makeSmallSet();
  const out = path.join(dir, 'never');
  const r = await run(['--csv', csv, '--input', input, '--output', out, '--exclude_genres=Animaton,Comedy']);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^error: --exclude_genres: unknown genre 'Animaton'; valid genres: Action, .*Animation, .*Western$/,
  );
  assert.equal(existsSync(out), false);
});

test('bad flags: ratio outside 30-70, output equal to input', async () => {
  const { csv, input } = await makeSmallSet();
  const ratio = await run(['--csv', csv, '--input', input, '--output', path.join(dir, 'x'), '--ratio', '80']);
  assert.equal(ratio.code, 2);
  assert.match(ratio.stderr, /--ratio takes a whole number from 30 to 70, got '80'/);
  const same = await run(['--csv', csv, '--input', input, '--output', input]);
  assert.equal(same.code, 2);
  assert.match(same.stderr, /^error: --output .* is the poster directory itself/);
  assert.equal(existsSync(path.join(input, 'manifest.json')), false);
});

/** Mean absolute difference of two decoded images of the same size. */
async function meanAbsDiff(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([sharp(a).raw().toBuffer(), sharp(b).raw().toBuffer()]);
  assert.equal(x.length, y.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
  return sum / x.length;
}

const native = loadNativeJpeg();
test(
  'the libjpeg-turbo fast path matches the sharp conversion and leaves unusual files to sharp',
  {
    skip: native
      ? false
      : 'poster_studio_jpeg addon not built (no libjpeg headers at npm install): sharp converts everything',
  },
  async () => {
    const work = path.join(dir, 'native');
    mkdirSync(work, { recursive: true });
    const W = 182,
      H = 268;
    const px = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        px[i] = Math.round((x / W) * 255);
        px[i + 1] = Math.round((y / H) * 255);
        px[i + 2] = Math.round(128 + 100 * Math.sin(x / 9) * Math.cos(y / 13));
      }
    }
    const src = path.join(work, 'smooth.jpg');
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 100 })
      .toFile(src);
    const viaSharp = path.join(work, 'sharp.jpg');
    await srgbPipeline(src)
      .resize(109, 161, { fit: 'fill', kernel: 'lanczos3' })
      .jpeg({ quality: 95 })
      .toFile(viaSharp);
    const viaNative = path.join(work, 'native.jpg');
    assert.equal(
      await native!.convertFile(
        src,
        path.join(work, '.n.tmp'),
        viaNative,
        109,
        161,
        95,
        MAX_INPUT_PIXELS,
        MAX_IMAGE_BYTES,
      ),
      'done',
    );
    const meta = await sharp(viaNative).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.space], [109, 161, 3, 'srgb']);
    // Same picture: on smooth content the two resamplers differ by about a JPEG's rounding.
    assert.ok((await meanAbsDiff(viaNative, viaSharp)) < 2.5);
    assert.deepEqual(
      readdirSync(work).filter((n) => n.endsWith('.tmp')),
      [],
    );

    const cmyk = path.join(work, 'cmyk.jpg');
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg()
      .toFile(cmyk);
    const png = path.join(work, 'png.jpg');
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(png);
    const cut = path.join(work, 'cut.jpg');
    writeFileSync(cut, readFileSync(src).subarray(0, 2000));
    for (const f of [cmyk, png, cut]) {
      assert.equal(
        await native!.convertFile(
          f,
          path.join(work, '.x.tmp'),
          path.join(work, 'x.jpg'),
          109,
          161,
          95,
          MAX_INPUT_PIXELS,
          MAX_IMAGE_BYTES,
        ),
        'fallback',
        f,
      );
    }
    assert.equal(existsSync(path.join(work, 'x.jpg')), false);
  },
);

test('a JPEG counts as finished only when whole', async () => {
  const bytes = await sharp({ create: { width: 20, height: 30, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  assert.deepEqual(parseJpegHeader(bytes), { width: 20, height: 30, components: 3 });
  assert.equal(parseJpegHeader(bytes.subarray(0, bytes.length - 10)), null);
  assert.equal(parseJpegHeader(Buffer.from('<html>')), null);
});
