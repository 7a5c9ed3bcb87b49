/**
 * Every command against the inputs users really have: broken, grayscale, CMYK, PNG-named-.jpg,
 * 1x1 and 10000x10000 posters; CSVs with the wrong columns, quotes, duplicates and no years;
 * unknown genres, empty and unwritable directories, out-of-range flags. The cases are data
 * (CASES): each says the exit code, the one `error:` line it expects (naming the file or flag),
 * and which earlier outputs must come out byte-identical.
 *
 * Unwritable outputs: the tests run as root, so chmod does not stop a write; an output path
 * under a regular FILE (ENOTDIR / EEXIST) is used instead. Not /proc: Node 20's
 * fs.mkdir(p, { recursive: true }) spins forever on /proc/<missing>/<dir> (measured: never returns).
 *
 * Cases already covered elsewhere (not repeated here): --ratio 80 and --output == --input
 * (prepare-dcgan.test.ts), unknown --include_genres (prepare-dcgan.test.ts), classifier train
 * --epochs 0/--version 9/--genres Cartoons/min>max year/missing --csv (classifier-cli.test.ts),
 * dcgan train --output_width 4/--activation_g/--render_res/--grid-height 0/missing --input
 * (dcgan-cli.test.ts), get-data missing --csv and cut/HTML/404 downloads (get-data.test.ts),
 * report with bad JSON/CSV/grid (report.test.ts), CSV decoding and missing columns at the
 * module level (dataset.test.ts).
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import {
  changedFiles,
  cmykJpeg,
  CSV_HEADER,
  csvLine,
  grayscaleJpeg,
  hashTree,
  hugeOneColourPng,
  notAnImage,
  onePixelJpeg,
  pngNamedJpg,
  tempLeftovers,
  truncatedJpeg,
  writeCsv,
  zeroByte,
  type CsvRow,
} from './helpers/bad-inputs.js';
import { errorLines, hasStackTrace, runCli, type CliResult } from './helpers/run-cli.js';
import { TINY_CLASSIFIER_RUN, TINY_DCGAN_RUN } from './helpers/tiny-flags.js';

/** What the fixture holds; built once in before(). */
interface Ctx {
  root: string;
  csv: string;
  rows: CsvRow[];
  good: string; // posters, all whole
  mixed: string; // the same posters with BAD ids overwritten by bad files
  bad: Record<BadKind, number>; // kind -> imdbId
  prepared: string; // prepare-dcgan output of `good`
  model: string; // a tiny trained classifier
  samples: string; // a tiny dcgan train output (grids, losses, checkpoints)
  afile: string; // a regular file, to put outputs "under"
  empty: string;
}

type BadKind = 'truncated' | 'zero' | 'notImage' | 'png' | 'gray' | 'cmyk' | 'onePixel' | 'huge';
const UNDECODABLE: BadKind[] = ['truncated', 'zero', 'notImage', 'huge'];
const USABLE: BadKind[] = ['png', 'gray', 'cmyk', 'onePixel'];

interface Case {
  name: string;
  args: (c: Ctx, out: string) => string[];
  code: number;
  /** The error line must match this (and is the only `error:` line). Absent: no error line. */
  error?: RegExp;
  /** A directory whose files must be byte-identical before and after the run. */
  keep?: (c: Ctx) => string;
  /** Runs before the command (e.g. a first, good run whose outputs must survive). */
  setup?: (c: Ctx, out: string) => Promise<void>;
  check?: (c: Ctx, r: CliResult, out: string) => void | Promise<void>;
  /** true: the command failed up front, so `out` must not exist. */
  writesNothing?: boolean;
}

const manifestOf = (
  dir: string,
): { kept: { imdbId: number; title: string }[]; skipped: { imdbId: number; file: string; reason: string }[] } =>
  JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

const posterRows = (c: Ctx, n: number): CsvRow[] => c.rows.slice(0, n);

const CASES: Case[] = [
  // ---- prepare-dcgan ------------------------------------------------------------------------
  {
    name: 'prepare-dcgan: every kind of bad poster among good ones; good ones converted, earlier outputs unchanged',
    setup: async (c, out) => {
      const r = await runCli(['prepare-dcgan', '--csv', c.csv, '--input', c.good, '--output', out, '--ratio', '30']);
      assert.equal(r.code, 0, r.stderr);
      for (const id of Object.values(c.bad)) rmSync(path.join(out, `${id}.jpg`), { force: true });
      rmSync(path.join(out, 'manifest.json'));
    },
    keep: () => '', // set per run below: the good posters' earlier outputs
    args: (c, out) => ['prepare-dcgan', '--csv', c.csv, '--input', c.mixed, '--output', out, '--ratio', '30'],
    code: 0,
    check: async (c, _r, out) => {
      const m = manifestOf(out);
      const skipped = new Map(m.skipped.map((s) => [s.imdbId, s]));
      for (const k of UNDECODABLE) {
        const s = skipped.get(c.bad[k]);
        assert.ok(s, `${k} poster skipped`);
        assert.match(s.reason, /cannot decode/, `${k}: ${s.reason}`);
        assert.ok(!existsSync(path.join(out, `${c.bad[k]}.jpg`)), `${k}: no output`);
      }
      // The 10000x10000 PNG is refused by the decoder's pixel limit, not decoded into 300 MB.
      assert.match(skipped.get(c.bad.huge)!.reason, /pixel limit/);
      for (const k of USABLE) {
        const meta = await sharp(path.join(out, `${c.bad[k]}.jpg`)).metadata();
        assert.deepEqual(
          [meta.format, meta.width, meta.height, meta.channels, meta.space],
          ['jpeg', 55, 80, 3, 'srgb'],
          k,
        );
      }
      assert.equal(m.kept.length, c.rows.length - UNDECODABLE.length);
    },
  },
  {
    name: 'prepare-dcgan: ISO-8859-1 CSV with accented titles decodes them',
    args: (c, out) => ['prepare-dcgan', '--csv', c.csv, '--input', c.good, '--output', out, '--ratio', '30'],
    code: 0,
    check: (c, _r, out) => {
      const titles = manifestOf(out).kept.map((k) => k.title);
      const accented = c.rows.filter((row) => /[^\x00-\x7f]/.test(row.title)).map((row) => row.title);
      assert.ok(accented.length > 0, 'the fixture has accented titles');
      for (const t of accented) assert.ok(titles.includes(t), `${t} kept with its accents`);
      assert.ok(!titles.some((t) => t.includes('\ufffd') || t.includes('Ã')), 'no mojibake');
    },
  },
  {
    name: 'prepare-dcgan: CSV without the Genre column',
    args: (c, out) => {
      const f = path.join(c.root, 'no-genre.csv');
      writeFileSync(f, 'imdbId,Imdb Link,Title,IMDB Score,Poster\n1,l,A (2000),5,\n', 'latin1');
      return ['prepare-dcgan', '--csv', f, '--input', c.good, '--output', out];
    },
    code: 2,
    error: /no-genre\.csv.*Genre/,
    writesNothing: true,
  },
  {
    name: 'prepare-dcgan: CSV with extra columns is read by header name',
    args: (c, out) => {
      const f = path.join(c.root, 'extra.csv');
      const rows = posterRows(c, 3).map((r) => `x,${csvLine(r)},y`);
      writeFileSync(f, [`Extra,${CSV_HEADER},More`, ...rows].join('\n') + '\n', 'latin1');
      return ['prepare-dcgan', '--csv', f, '--input', c.good, '--output', out, '--ratio', '30'];
    },
    code: 0,
    check: (c, _r, out) =>
      assert.deepEqual(
        manifestOf(out)
          .kept.map((k) => k.imdbId)
          .sort(),
        posterRows(c, 3)
          .map((r) => r.id)
          .sort(),
      ),
  },
  {
    name: 'prepare-dcgan: an unterminated quote loses only the broken row',
    args: (c, out) => {
      const f = path.join(c.root, 'quote.csv');
      const rows = posterRows(c, 4);
      const broken = csvLine(rows[3]!).replace(rows[3]!.title, `"${rows[3]!.title}`);
      writeFileSync(f, [CSV_HEADER, ...rows.slice(0, 3).map(csvLine), broken].join('\n') + '\n', 'latin1');
      return ['prepare-dcgan', '--csv', f, '--input', c.good, '--output', out, '--ratio', '30'];
    },
    code: 0,
    check: (c, _r, out) =>
      assert.deepEqual(
        manifestOf(out)
          .kept.map((k) => k.imdbId)
          .sort(),
        posterRows(c, 3)
          .map((r) => r.id)
          .sort(),
      ),
  },
  {
    name: 'prepare-dcgan: duplicate imdbIds count once',
    args: (c, out) => {
      const rows = posterRows(c, 3);
      return [
        'prepare-dcgan',
        '--csv',
        writeCsv(path.join(c.root, 'dup.csv'), [...rows, ...rows, rows[0]!]),
        '--input',
        c.good,
        '--output',
        out,
        '--ratio',
        '30',
      ];
    },
    code: 0,
    check: (c, _r, out) =>
      assert.deepEqual(
        manifestOf(out)
          .kept.map((k) => k.imdbId)
          .sort(),
        posterRows(c, 3)
          .map((r) => r.id)
          .sort(),
      ),
  },
  {
    name: 'prepare-dcgan: a title without (year) is kept without filters and skipped with --min_year',
    args: (c, out) => {
      const rows = posterRows(c, 3).map((r, i) => (i === 0 ? { ...r, title: 'Merlin' } : r));
      return [
        'prepare-dcgan',
        '--csv',
        writeCsv(path.join(c.root, 'noyear.csv'), rows),
        '--input',
        c.good,
        '--output',
        out,
        '--ratio',
        '30',
        '--min_year',
        '1800',
      ];
    },
    code: 0,
    check: (c, _r, out) => {
      const m = manifestOf(out);
      assert.deepEqual(
        m.kept.map((k) => k.imdbId).sort(),
        posterRows(c, 3)
          .slice(1)
          .map((r) => r.id)
          .sort(),
      );
      assert.match(m.skipped.find((s) => s.imdbId === c.rows[0]!.id)!.reason, /year/);
    },
  },
  {
    name: 'prepare-dcgan: unknown genre in --exclude_genres',
    args: (c, out) => [
      'prepare-dcgan',
      '--csv',
      c.csv,
      '--input',
      c.good,
      '--output',
      out,
      '--exclude_genres',
      'Drama,Westerns',
    ],
    code: 2,
    error: /Westerns.*Western/,
    writesNothing: true,
  },
  {
    name: 'prepare-dcgan: empty poster directory says every movie has no poster',
    args: (c, out) => ['prepare-dcgan', '--csv', c.csv, '--input', c.empty, '--output', out],
    code: 0,
    check: (c, r) => assert.match(r.stdout + r.stderr, new RegExp(`kept 0 .*no poster ${c.rows.length}`)),
  },
  {
    name: 'prepare-dcgan: --output under a regular file',
    args: (c) => ['prepare-dcgan', '--csv', c.csv, '--input', c.good, '--output', path.join(c.afile, 'sub')],
    code: 1,
    error: /afile\/sub/,
  },
  {
    name: 'prepare-dcgan: --concurrency 0',
    args: (c, out) => ['prepare-dcgan', '--csv', c.csv, '--input', c.good, '--output', out, '--concurrency', '0'],
    code: 2,
    error: /--concurrency takes a whole number from 1 to 64, got '0'/,
    writesNothing: true,
  },
  // ---- get-data (without --download: no network) --------------------------------------------
  {
    name: 'get-data: ISO-8859-1 CSV is detected as latin1',
    args: (c, out) => ['get-data', '--csv', c.csv, '--output', out],
    code: 0,
    check: (c, r) =>
      assert.match(r.stdout + r.stderr, new RegExp(`${c.rows.length} movies from .*MovieGenre\\.csv \\(latin1\\)`)),
  },
  {
    name: 'get-data: CSV without the imdbId column',
    args: (c, out) => {
      const f = path.join(c.root, 'no-id.csv');
      writeFileSync(f, 'Imdb Link,Title,IMDB Score,Genre,Poster\nl,A (2000),5,Drama,\n');
      return ['get-data', '--csv', f, '--output', out];
    },
    code: 2,
    error: /no-id\.csv.*imdbId/,
    writesNothing: true,
  },
  {
    name: 'get-data: an unterminated quote is reported with its line',
    args: (c, out) => {
      const f = path.join(c.root, 'quote-gd.csv');
      const rows = posterRows(c, 3);
      writeFileSync(
        f,
        [CSV_HEADER, ...rows.slice(0, 2).map(csvLine), csvLine(rows[2]!).replace(',', ',"')].join('\n') + '\n',
        'latin1',
      );
      return ['get-data', '--csv', f, '--output', out];
    },
    code: 0,
    check: (_c, r) => assert.match(r.stdout + r.stderr, /2 movies from .*1 malformed rows? skipped \(first: line 4/),
  },
  {
    name: 'get-data: duplicate imdbIds count once',
    args: (c, out) => [
      'get-data',
      '--csv',
      writeCsv(path.join(c.root, 'dup-gd.csv'), [...posterRows(c, 3), ...posterRows(c, 3)]),
      '--output',
      out,
    ],
    code: 0,
    check: (_c, r) => assert.match(r.stdout + r.stderr, /^3 movies from /m),
  },
  {
    name: 'get-data: --output under a regular file',
    args: (c) => ['get-data', '--csv', c.csv, '--output', path.join(c.afile, 'posters'), '--download'],
    code: 1,
    error: /afile\/posters/,
  },
  {
    name: 'get-data: --ratio 0',
    args: (c, out) => ['get-data', '--csv', c.csv, '--output', out, '--ratio', '0'],
    code: 2,
    error: /--ratio takes a whole number from 30 to 70, got '0'/,
    writesNothing: true,
  },
  {
    name: 'get-data: --retries -1',
    args: (c, out) => ['get-data', '--csv', c.csv, '--output', out, '--retries', '-1'],
    code: 2,
    error: /--retries/,
    writesNothing: true,
  },
  // ---- classifier train ---------------------------------------------------------------------
  {
    name: 'classifier train: bad posters are skipped by name, the model is trained on the rest',
    args: (c, out) => [
      'classifier',
      'train',
      '--csv',
      c.csv,
      '--data',
      c.mixed,
      '--models',
      out,
      ...TINY_CLASSIFIER_RUN,
    ],
    code: 0,
    keep: (c) => c.mixed,
    check: (c, r, out) => {
      // The split decides which bad posters the training/validation sets ask for; each one it
      // asks for and cannot decode must be named.
      const named = UNDECODABLE.filter((k) => r.stderr.includes(`${c.bad[k]}.jpg`));
      for (const k of named) assert.match(r.stderr, new RegExp(`skipped .*${c.bad[k]}\\.jpg: cannot decode`));
      assert.ok(named.length >= 1, `at least one bad poster is in the train/validation split:\n${r.stderr}`);
      assert.ok(existsSync(path.join(out, 't', 'model.json')) && existsSync(path.join(out, 't', 'metadata.json')));
    },
  },
  {
    name: 'classifier train: empty --data directory',
    args: (c, out) => [
      'classifier',
      'train',
      '--csv',
      c.csv,
      '--data',
      c.empty,
      '--models',
      out,
      ...TINY_CLASSIFIER_RUN,
    ],
    code: 2,
    error: /no training posters: .*empty/,
    writesNothing: true,
  },
  {
    name: 'classifier train: --models under a regular file stops before the first epoch',
    args: (c) => [
      'classifier',
      'train',
      '--csv',
      c.csv,
      '--data',
      c.good,
      '--models',
      path.join(c.afile, 'models'),
      ...TINY_CLASSIFIER_RUN,
    ],
    code: 1,
    error: /afile\/models/,
    check: (_c, r) => assert.doesNotMatch(r.stdout + r.stderr, /epoch 1/i),
  },
  {
    name: 'classifier train: --ratio 101',
    args: (c, out) => ['classifier', 'train', '--csv', c.csv, '--data', c.good, '--models', out, '--ratio', '101'],
    code: 2,
    error: /--ratio takes a whole number from 10 to 100, got '101'/,
    writesNothing: true,
  },
  {
    name: 'classifier train: --batch 0',
    args: (c, out) => ['classifier', 'train', '--csv', c.csv, '--data', c.good, '--models', out, '--batch', '0'],
    code: 2,
    error: /--batch/,
    writesNothing: true,
  },
  // ---- classify -------------------------------------------------------------------------------
  {
    name: 'classify: a directory with every kind of bad poster scores the usable ones and names the rest',
    args: (c) => ['classify', '--model', c.model, '--truth-csv', c.csv, c.mixed],
    code: 0,
    keep: (c) => c.model,
    check: (c, r) => {
      for (const k of UNDECODABLE) assert.match(r.stderr, new RegExp(`skipped .*${c.bad[k]}\\.jpg`), k);
      assert.match(
        r.stdout + r.stderr,
        new RegExp(`scored ${c.rows.length - UNDECODABLE.length} poster\\(s\\).*skipped ${UNDECODABLE.length}`),
      );
      for (const k of USABLE) {
        const title = c.rows.find((row) => row.id === c.bad[k])!.title;
        assert.ok(r.stdout.includes(title), `${k} poster (${title}) scored`);
      }
    },
  },
  {
    name: 'classify: --json under a regular file',
    args: (c) => [
      'classify',
      '--model',
      c.model,
      '--json',
      path.join(c.afile, 'out.json'),
      path.join(c.good, `${c.rows[0]!.id}.jpg`),
    ],
    code: 1,
    error: /afile/,
  },
  {
    name: 'classify: --model is a directory without a classifier',
    args: (c) => ['classify', '--model', c.empty, c.good],
    code: 2,
    error: /metadata\.json/,
  },
  {
    name: 'classify: an input that does not exist',
    args: (c) => ['classify', '--model', c.model, path.join(c.root, 'nope.jpg')],
    code: 2,
    error: /nope\.jpg: no such file/,
  },
  {
    name: 'classify: --top -1',
    args: (c) => ['classify', '--model', c.model, '--top', '-1', c.good],
    code: 2,
    error: /--top takes a whole number from 0 to 100, got '-1'/,
  },
  // ---- dcgan train ----------------------------------------------------------------------------
  {
    name: 'dcgan train: an empty --input directory',
    args: (c, out) => ['dcgan', 'train', '--input', c.empty, '--output', out, ...TINY_DCGAN_RUN],
    code: 2,
    error: /--input: .*has no manifest\.json and no file matching --input_fname_pattern/,
    writesNothing: true,
  },
  {
    name: 'dcgan train: a manifest that keeps no posters',
    args: (c, out) => {
      const d = path.join(c.root, 'prep-empty');
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(c.prepared), kept: [] }));
      return ['dcgan', 'train', '--input', d, '--output', out, ...TINY_DCGAN_RUN];
    },
    code: 2,
    error: /manifest\.json lists no posters/,
    writesNothing: true,
  },
  {
    name: 'dcgan train: a truncated and a zero-byte poster in the prepared set',
    args: (c, out) => {
      const d = path.join(c.root, 'prep-broken');
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d);
      for (const f of readdirSync(c.prepared)) copyFileSync(path.join(c.prepared, f), path.join(d, f));
      const kept = manifestOf(d).kept;
      const a = path.join(d, `${kept[0]!.imdbId}.jpg`);
      writeFileSync(a, readFileSync(a).subarray(0, 200));
      writeFileSync(path.join(d, `${kept[1]!.imdbId}.jpg`), '');
      return ['dcgan', 'train', '--input', d, '--output', out, ...TINY_DCGAN_RUN];
    },
    code: 0,
    check: (c, r, out) => {
      assert.match(
        r.stderr,
        /^dcgan train: posters that could not be decoded are left out: skipped 2:\n {2}skipped \d+\.jpg: .*prep-broken\/\d+\.jpg: cannot decode.*\n {2}skipped \d+\.jpg: .*\n {2}the full list is in .*skipped-posters\.txt$/m,
      );
      assert.match(r.stderr, new RegExp(`training on ${c.rows.length - 2} posters`));
      assert.ok(existsSync(path.join(out, 'grid_000004.png')), 'trained on the rest');
    },
  },
  {
    name: 'dcgan train: --output under a regular file',
    args: (c) => [
      'dcgan',
      'train',
      '--input',
      c.prepared,
      '--output',
      path.join(c.afile, 'samples'),
      ...TINY_DCGAN_RUN,
    ],
    code: 1,
    error: /afile\/samples/,
  },
  {
    name: 'dcgan train: --output_width 7',
    args: (c, out) => [
      'dcgan',
      'train',
      '--input',
      c.prepared,
      '--output',
      out,
      ...TINY_DCGAN_RUN,
      '--output_width',
      '7',
    ],
    code: 2,
    error: /--output_width takes a whole number from 8 to 1024, got '7'/,
    writesNothing: true,
  },
  {
    name: 'dcgan train: --learning_rate_g -1',
    args: (c, out) => [
      'dcgan',
      'train',
      '--input',
      c.prepared,
      '--output',
      out,
      ...TINY_DCGAN_RUN,
      '--learning_rate_g',
      '-1',
    ],
    code: 2,
    error: /--learning_rate_g/,
    writesNothing: true,
  },
  // ---- dcgan render ---------------------------------------------------------------------------
  {
    name: 'dcgan render: a broken grid among good ones names it; the grids are unchanged, no video or temp left',
    args: (c, out) => {
      mkdirSync(out);
      for (const f of readdirSync(c.samples).filter((n) => n.startsWith('grid_')))
        copyFileSync(path.join(c.samples, f), path.join(out, f));
      const last = readdirSync(out)
        .filter((n) => n.endsWith('.png'))
        .sort()
        .pop()!;
      writeFileSync(path.join(out, last), readFileSync(path.join(out, last)).subarray(0, 100));
      return ['dcgan', 'render', '--input', out, '--output', path.join(out, 'train.mp4')];
    },
    keep: () => '',
    code: 2,
    error: /grid_\d+\.png: cannot decode/,
    check: (_c, _r, out) => {
      assert.ok(!existsSync(path.join(out, 'train.mp4')));
      assert.deepEqual(tempLeftovers(readdirSync(out)), []);
      assert.deepEqual(
        readdirSync(out).filter((n) => n.startsWith('.')),
        [],
      );
    },
  },
  {
    name: 'dcgan render: an empty --input directory',
    args: (c) => ['dcgan', 'render', '--input', c.empty],
    code: 2,
    error: /has no grid_\*\.png/,
  },
  {
    name: 'dcgan render: --output under a regular file',
    args: (c) => ['dcgan', 'render', '--input', c.samples, '--output', path.join(c.afile, 'train.mp4')],
    code: 1,
    error: /afile/,
    keep: (c) => c.samples,
  },
  {
    name: 'dcgan render: --video_length 0',
    args: (c, out) => [
      'dcgan',
      'render',
      '--input',
      c.samples,
      '--output',
      path.join(out, 'v.mp4'),
      '--video_length',
      '0',
    ],
    code: 2,
    error: /--video_length/,
    writesNothing: true,
  },
  // ---- report ---------------------------------------------------------------------------------
  {
    name: 'report: bad real posters are skipped by name and the page is written',
    args: (c, out) => [
      'report',
      '--samples',
      c.samples,
      '--model',
      c.model,
      '--real',
      c.mixed,
      '--csv',
      c.csv,
      '--real-count',
      String(c.rows.length),
      '--saliency-posters',
      '0',
      '--output',
      path.join(out, 'r.html'),
    ],
    code: 0,
    keep: (c) => c.samples,
    check: (c, r, out) => {
      for (const k of ['notImage', 'huge'] as BadKind[])
        assert.match(r.stderr, new RegExp(`skipped .*${c.bad[k]}\\.jpg`), k);
      assert.match(readFileSync(path.join(out, 'r.html'), 'utf8'), /<html/i);
    },
  },
  {
    name: 'report: --output under a regular file',
    args: (c) => [
      'report',
      '--samples',
      c.samples,
      '--model',
      c.model,
      '--output',
      path.join(c.afile, 'r.html'),
      '--real-count',
      '0',
      '--saliency-posters',
      '0',
    ],
    code: 1,
    error: /afile/,
  },
  {
    name: 'report: --real-count -1',
    args: (c, out) => [
      'report',
      '--samples',
      c.samples,
      '--model',
      c.model,
      '--output',
      path.join(out, 'r.html'),
      '--real-count',
      '-1',
    ],
    code: 2,
    error: /--real_count takes a whole number from 0 to 100000, got '-1'/,
    writesNothing: true,
  },
];

let ctx: Ctx;

before(async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'reliability-bad-'));
  const syn = path.join(root, 'syn');
  const s = await runCli(['synth', '--output', syn, '--count', '24', '--seed', '2']);
  assert.equal(s.code, 0, s.stderr);
  const csv = path.join(syn, 'MovieGenre.csv');
  const lines = readFileSync(csv, 'latin1').trim().split('\n').slice(1);
  const rows: CsvRow[] = lines.map((l) => {
    const f = l.split(',');
    return { id: Number(f[0]), title: f[2]!, score: f[3], genres: f[4]!, poster: f[5] };
  });
  const good = path.join(syn, 'posters');
  const mixed = path.join(root, 'mixed');
  mkdirSync(mixed);
  for (const f of readdirSync(good)) copyFileSync(path.join(good, f), path.join(mixed, f));
  const makers: Record<BadKind, () => Buffer | Promise<Buffer>> = {
    truncated: truncatedJpeg,
    zero: zeroByte,
    notImage: notAnImage,
    png: pngNamedJpg,
    gray: grayscaleJpeg,
    cmyk: cmykJpeg,
    onePixel: onePixelJpeg,
    huge: () => hugeOneColourPng(10_000),
  };
  const bad = {} as Record<BadKind, number>;
  // Spread the bad ids over the CSV so some land in each split.
  for (const [i, [kind, make]] of Object.entries(makers).entries()) {
    const id = rows[i * 3 + 1]!.id;
    bad[kind as BadKind] = id;
    writeFileSync(path.join(mixed, `${id}.jpg`), await make());
  }
  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  const afile = path.join(root, 'afile');
  writeFileSync(afile, 'a regular file, so nothing can be created under it\n');
  const prepared = path.join(root, 'prepared');
  const p = await runCli(['prepare-dcgan', '--csv', csv, '--input', good, '--output', prepared, '--ratio', '30']);
  assert.equal(p.code, 0, p.stderr);
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
    good,
    '--models',
    models,
    ...TINY_CLASSIFIER_RUN,
  ]);
  assert.equal(m.code, 0, m.stderr);
  ctx = { root, csv, rows, good, mixed, bad, prepared, model: path.join(models, 't'), samples, afile, empty };
});

after(() => {
  if (ctx) rmSync(ctx.root, { recursive: true, force: true });
});

CASES.forEach((c, i) => {
  test(`bad input ${i + 1}/${CASES.length}: ${c.name}`, { timeout: 120_000 }, async () => {
    const out = path.join(ctx.root, `out-${i + 1}`);
    await c.setup?.(ctx, out);
    const args = c.args(ctx, out);
    // Cases with keep: () => '' watch their own output directory (filled by setup or args).
    const watched = c.keep ? c.keep(ctx) || out : null;
    const before = watched ? hashTree(watched) : null;
    const fx = { good: hashTree(ctx.good), csv: hashTree(path.dirname(ctx.csv)) };
    const r = await runCli(args);
    const where = `${args.join(' ')}\nexit ${r.code}\n${r.stderr}`;
    assert.equal(r.timedOut, false, `timed out: ${where}`);
    assert.equal(r.code, c.code, where);
    assert.equal(hasStackTrace(r.stderr), false, `no stack trace: ${where}`);
    const errs = errorLines(r.stderr);
    if (c.error) {
      assert.equal(errs.length, 1, `one error line: ${where}`);
      assert.match(errs[0]!, c.error, where);
      assert.equal(r.stderr.trim().split('\n').pop(), errs[0], 'the error line is the last word');
    } else {
      assert.deepEqual(errs, [], where);
    }
    if (c.writesNothing) assert.equal(existsSync(out), false, `nothing written: ${where}`);
    if (watched && before) {
      const after = hashTree(watched);
      // Files that existed before must be byte-identical (new ones may appear).
      const lost = changedFiles(
        new Map([...before].filter(([k]) => k !== 'manifest.json' || c.code !== 0)),
        after,
      ).filter((k) => !(c.setup && k === 'manifest.json'));
      assert.deepEqual(lost, [], `earlier outputs unchanged: ${where}`);
    }
    // The inputs are never touched.
    assert.deepEqual(changedFiles(fx.good, hashTree(ctx.good)), [], 'input posters unchanged');
    assert.deepEqual(changedFiles(fx.csv, hashTree(path.dirname(ctx.csv))), [], 'input CSV unchanged');
    await c.check?.(ctx, r, out);
  });
});
