import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodePng } from '../src/core/images/decode.js';
import {
  scanSamples,
  scoreSamples,
  scoresCsv,
  formatGridTable,
  formatTrend,
  writeScores,
} from '../src/features/scoring/index.js';
import { UserError } from '../src/core/errors.js';
import { cellColour, colourScorer, flatImage, writeFakeSamples } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('scan');
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

test('grids with sidecars are found in training order and every poster is scored from its own cell', () =>
  withDir(async (dir) => {
    await writeFakeSamples(dir, { iterations: [300, 100, 200] });
    const scan = await scanSamples([dir]);
    assert.deepEqual(
      scan.grids.map((g) => g.iteration),
      [100, 200, 300],
    );
    assert.ok(scan.grids.every((g) => g.from === 'sidecar'));
    assert.deepEqual(scan.singles, []);
    assert.deepEqual(scan.skipped, [], 'losses.csv and sidecars are not reported as junk');
    // `classify samples/*`: the shell hands over sidecars and losses.csv as files; same result.
    const globbed = await scanSamples((await fs.readdir(dir)).map((n) => path.join(dir, n)));
    assert.deepEqual(globbed.skipped, []);
    assert.deepEqual(
      globbed.grids.map((g) => g.iteration),
      [100, 200, 300],
    );
    const s = await scoreSamples(scan, colourScorer, { batch: 4 });
    assert.deepEqual(s.genres, ['Action', 'Drama', 'Comedy']);
    assert.equal(s.grids.length, 3);
    // writeFakeSamples wrote iteration 300 first (k = 0: reddest), so sorted order is 100, 200, 300.
    const cell4 = s.grids.find((g) => g.iteration === 300)!.cells[4]!;
    const [r, g, b] = cellColour(4, 0, 3);
    assert.ok(Math.abs(cell4.scores.Action! - r / (r + g + b)) < 1e-9);
    assert.deepEqual([cell4.row, cell4.col], [1, 1]);
    assert.ok(Math.abs(s.grids[0]!.losses!.d - 1.1) < 1e-9, 'losses come from the sidecar');
  }));

test('without a sidecar a grid is one image and a note says to pass --grid; with --grid it is split', () =>
  withDir(async (dir) => {
    await writeFakeSamples(dir, { iterations: [100, 200], sidecars: false });
    const plain = await scanSamples([dir]);
    assert.equal(plain.grids.length, 0);
    assert.equal(plain.singles.length, 2);
    assert.match(plain.notes[0]!, /no sidecar grid_000100\.json.*--grid ROWSxCOLS/);
    const split = await scanSamples([dir], { grid: { rows: 2, cols: 3 } });
    assert.equal(split.grids.length, 2);
    assert.deepEqual(split.grids[0]!.geometry, { rows: 2, cols: 3, cellWidth: 16, cellHeight: 24, gap: 2 });
    assert.equal(split.grids[0]!.from, '--grid');
    assert.equal(split.grids[1]!.iteration, 200, 'iteration comes from the file name');
    // A sidecar wins over --grid.
    await writeFakeSamples(dir, { iterations: [100], sidecars: true, losses: false });
    const mixed = await scanSamples([dir], { grid: { rows: 1, cols: 1 } });
    assert.equal(mixed.grids.find((g) => g.iteration === 100)!.from, 'sidecar');
  }));

test('non-image, broken and mismatched files are reported and skipped; the run goes on', () =>
  withDir(async (dir) => {
    await writeFakeSamples(dir, { iterations: [100] });
    await fs.writeFile(path.join(dir, 'notes.txt'), 'hello');
    const png = await encodePng(flatImage(20, 30, [10, 200, 10]));
    await fs.writeFile(path.join(dir, 'truncated.png'), png.subarray(0, png.length / 2));
    await fs.writeFile(path.join(dir, 'fake.jpg'), 'not a jpeg at all');
    await fs.writeFile(path.join(dir, 'poster.png'), png);
    // A grid whose sidecar promises another size, and one whose sidecar is not JSON.
    await fs.writeFile(path.join(dir, 'grid_000500.png'), png);
    await fs.writeFile(
      path.join(dir, 'grid_000500.json'),
      JSON.stringify({ rows: 6, cols: 10, cellWidth: 64, cellHeight: 96, gap: 2 }),
    );
    await fs.writeFile(path.join(dir, 'grid_000600.png'), png);
    await fs.writeFile(path.join(dir, 'grid_000600.json'), '{ broken');
    const scan = await scanSamples([dir]);
    const s = await scoreSamples(scan, colourScorer);
    const reasons = Object.fromEntries(s.skipped.map((x) => [path.basename(x.file), x.reason]));
    assert.equal(reasons['notes.txt'], 'not an image');
    assert.match(reasons['fake.jpg']!, /^broken image/);
    assert.match(reasons['truncated.png']!, /^broken image/);
    assert.match(reasons['grid_000500.png']!, /20x30 but its sidecar grid_000500\.json describes 6x10 cells/);
    assert.match(reasons['grid_000600.png']!, /sidecar grid_000600\.json is unreadable .*--grid/);
    assert.equal(Object.keys(reasons).length, 5);
    assert.deepEqual(
      s.singles.map((x) => path.basename(x.file)),
      ['poster.png'],
    );
    assert.ok(s.singles[0]!.scores.Drama! > 0.8);
    assert.equal(s.grids.length, 1);
  }));

test('a path that does not exist is one UserError naming it', async () => {
  await assert.rejects(
    scanSamples(['/nonexistent/samples']),
    (e: unknown) => e instanceof UserError && /\/nonexistent\/samples: no such file/.test((e as Error).message),
  );
});

test('tables, trend, CSV and JSON carry the same scores', () =>
  withDir(async (dir) => {
    await writeFakeSamples(dir, { iterations: [100, 200, 300] });
    const s = await scoreSamples(await scanSamples([dir]), colourScorer);
    const table = formatGridTable(s.grids[0]!);
    assert.match(table, /grid_000100\.png {2}iteration 100, epoch 0/);
    assert.match(table, /r1c1 {4}Action: \d+%/);
    const trend = formatTrend(s);
    // Red fades and blue grows over the fake training run.
    assert.match(trend, /from iteration 100 to 300: (Action −\d+ pts|Comedy \+\d+ pts)/);
    assert.match(trend, /most common top genre Action \(100%\) → Comedy \(100%\)/);
    const csv = scoresCsv(s).trim().split('\n');
    assert.equal(csv[0], 'file,iteration,cell,row,col,top_genre,Action,Drama,Comedy');
    assert.equal(csv.length, 1 + 3 * 6);
    const out = await writeScores(s, dir, 'models/x');
    const json = JSON.parse(await fs.readFile(out.json, 'utf8'));
    assert.equal(json.model, 'models/x');
    assert.equal(json.grids[2].cells.length, 6);
    // Our own outputs are not read back as junk on the next run.
    assert.deepEqual((await scanSamples([dir])).skipped, []);
  }));

test('classifySamples: tables per grid, trend, skipped files on stderr, classify.json/csv written; --json prints JSON', () =>
  withDir(async (dir) => {
    const { classifySamples, looksLikeSamples } = await import('../src/features/scoring/index.js');
    await writeFakeSamples(dir, { iterations: [100, 200] });
    await fs.writeFile(path.join(dir, 'readme.txt'), 'x');
    assert.equal(await looksLikeSamples([dir]), true);
    assert.equal(
      await looksLikeSamples([path.join(dir, 'grid_000100.png')]),
      false,
      'a file argument is the classifier’s own path',
    );
    let stdout = '';
    let stderr = '';
    const r = await classifySamples([dir], {
      score: colourScorer,
      model: 'm',
      write: (t) => (stdout += t),
      warn: (t) => (stderr += t),
    });
    assert.equal(r.grids.length, 2);
    assert.match(stdout, /grid_000100\.png {2}iteration 100[^\n]*\n {2}r1c1 {4}Action: \d+%/);
    assert.match(stdout, /genre mix of the generated posters over training/);
    assert.match(stderr, /skipped .*readme\.txt: not an image/);
    assert.match(
      stderr,
      /scored 12 posters in 2 grid\(s\) and 0 single image\(s\), skipped 1 file\(s\); wrote .*classify\.json/,
    );
    await fs.access(path.join(dir, 'classify.csv'));
    stdout = '';
    await classifySamples([dir], {
      score: colourScorer,
      model: 'm',
      json: true,
      write: (t) => (stdout += t),
      warn: () => undefined,
    });
    assert.equal(JSON.parse(stdout).grids[1].iteration, 200);
    // `classify samples/ --json samples/scores.json` (the demo's spelling): tables on stdout, JSON also written there.
    stdout = '';
    await classifySamples([dir], {
      score: colourScorer,
      model: 'm',
      json: path.join(dir, 'out/scores.json'),
      write: (t) => (stdout += t),
      warn: () => undefined,
    });
    assert.match(stdout, /r1c1/);
    assert.equal(JSON.parse(await fs.readFile(path.join(dir, 'out/scores.json'), 'utf8')).grids.length, 2);
    const empty = path.join(dir, 'empty');
    await fs.mkdir(empty);
    assert.equal(await looksLikeSamples([empty]), false);
    assert.equal(await looksLikeSamples([empty], '6x10'), true);
  }));
