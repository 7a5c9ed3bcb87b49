import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildReport, writeReport, type ReportOptions } from '../src/features/report/build.js';
import { parseLosses } from '../src/artifacts/losses-csv.js';
import { readModelInfo } from '../src/features/report/inputs.js';
import { renderEvaluation } from '../src/features/report/metrics.js';
import { readEvaluation, writeEvaluation, type Evaluation } from '../src/artifacts/classifier-evaluation.js';
import { openGenreModel } from '../src/artifacts/classifier-model.js';
import { REPO_ROOT } from './helpers/shared-data.js';
import { writeFakeSamples, writeFullRun } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const SECTIONS = ['grids', 'video', 'losses', 'fid', 'quality', 'posters', 'mix', 'metrics', 'saliency'];
const CLI = path.join(REPO_ROOT, 'dist/cli/poster-studio.js');

function available(html: string): Record<string, boolean> {
  return Object.fromEntries(
    [...html.matchAll(/<section id="(\w+)" data-available="(true|false)">/g)].map((m) => [m[1]!, m[2] === 'true']),
  );
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('report');
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const base = (root: string): ReportOptions => ({
  samplesDir: path.join(root, 'samples'),
  output: path.join(root, 'reports/report.html'),
  model: null,
  modelNote: 'no trained classifier; run <code>poster-studio classifier train</code>',
  modelInfo: null,
  realDir: null,
  realCount: 8,
  saliencyPosters: 2,
  seed: 1,
});

test('a finished run fills every section, with embedded images, video, SVG charts and nothing fetched from a network', () =>
  withDir(async (root) => {
    const run = await writeFullRun(root, { video: true });
    const model = await openGenreModel(run.modelDir);
    const describe = (f: string) =>
      f.endsWith('.jpg') ? { title: `Movie ${path.basename(f, '.jpg')} (2001)`, genres: ['Action', 'Drama'] } : null;
    const { html } = await buildReport({
      ...base(root),
      model,
      modelInfo: await readModelInfo(run.modelDir),
      realDir: run.real,
      describe,
    });
    assert.deepEqual(available(html), Object.fromEntries(SECTIONS.map((s) => [s, true])));
    assert.match(
      html,
      /<figcaption>Movie 10\d\d \(2001\)<br><span class="note">Action, Drama<\/span>/,
      'saliency rows name the movie',
    );
    assert.match(html, /<b>Action<\/b> \d+%<\/figcaption>/, "the movie's own genres are bold");
    assert.match(
      html,
      /<title>real: true genre share Action: 100\.0%<\/title>/,
      'true genre share of the real posters from the CSV',
    );
    assert.ok(
      (html.match(/<img src="data:image\/(png|jpeg);base64,/g) ?? []).length >= 4 + 12 + 2 * 4,
      'grids, posters and saliency maps are embedded',
    );
    assert.match(html, /<video [^>]*src="data:video\/mp4;base64,/);
    assert.ok(
      (html.match(/<svg class="chart"/g) ?? []).length >= 4,
      'loss, FID, mix bars and mix-over-training charts',
    );
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no network references');
    assert.doesNotMatch(html, /<script/);
    // The page's numbers come from the inputs: the metrics table and FID validation.
    assert.match(html, /<td>microAuc<\/td><td>0\.712<\/td>/);
    assert.match(
      html,
      /iteration 400 · epoch 3 · D [\d.]+ \/ G [\d.]+ · FID [\d.e+-]+<\/figcaption>/,
      'grid captions carry their FID',
    );
    assert.match(html, /real vs real \(two halves\)<b>[\d.e+-]+<\/b>/);
    assert.match(html, /<div class="bar" style="--v:[\d.]+%" title="(Action|Drama|Comedy) /);
    assert.match(html, /Comedy \d+%<\/figcaption>/, 'saliency captions carry the genre score');
  }));

test('with nothing to show every section says what to run, and the page is still written', () =>
  withDir(async (root) => {
    const res = await writeReport(base(root));
    const html = await fs.readFile(res.output, 'utf8');
    assert.deepEqual(available(html), Object.fromEntries(SECTIONS.map((s) => [s, false])));
    assert.equal(html.match(/class="na-line">not available: /g)?.length, SECTIONS.length);
    assert.match(html, /not available: run <code>dcgan train<\/code>/);
    assert.match(html, /not available: run <code>dcgan render/);
    assert.match(html, /not available: run <code>poster-studio fid/);
    assert.match(html, /not available: run <code>poster-studio classifier train<\/code>/);
  }));

test('grids without a classifier: grids, losses and posters shown, the classifier sections say how to get one', () =>
  withDir(async (root) => {
    await writeFakeSamples(path.join(root, 'samples'));
    const { html } = await buildReport(base(root));
    assert.deepEqual(available(html), {
      grids: true,
      video: false,
      losses: true,
      fid: false,
      quality: false,
      posters: true,
      mix: false,
      metrics: false,
      saliency: false,
    });
    assert.match(html, /genre bars not available: no trained classifier/);
    assert.doesNotMatch(html, /class="bar"/);
  }));

test('broken inputs degrade instead of crashing: bad JSON, bad CSV, broken grid, model without metadata', () =>
  withDir(async (root) => {
    const run = await writeFullRun(root);
    await fs.writeFile(path.join(run.samples, 'classify.json'), '{ not json');
    await fs.writeFile(path.join(run.samples, 'fid.json'), '[1,2');
    await fs.writeFile(path.join(run.samples, 'losses.csv'), 'a,b,c\n1,2,3\n');
    await fs.writeFile(path.join(run.samples, 'grid_000400.png'), 'garbage');
    await fs.rm(path.join(run.modelDir, 'metadata.json'));
    const model = await openGenreModel(run.modelDir);
    const logs: string[] = [];
    const { html } = await buildReport({
      ...base(root),
      model,
      modelInfo: await readModelInfo(run.modelDir),
      realDir: run.real,
      log: (l) => logs.push(l),
    });
    const a = available(html);
    assert.equal(a.grids, true, 'the three readable grids still show');
    assert.equal(a.losses, true, 'losses fall back to the sidecars');
    assert.match(html, /from the grids’ sidecars/);
    assert.equal(a.fid, false);
    assert.equal(a.metrics, false);
    assert.equal(a.mix, true, 'scored now with the model, since classify.json is unreadable');
    assert.ok(logs.some((l) => /losses\.csv: no "iteration" column/.test(l)));
    assert.match(html, /genre 1/, 'without metadata the genres are numbered, not invented');
  }));

test('a video over the embedding limit is copied beside the page and linked relatively', () =>
  withDir(async (root) => {
    await writeFakeSamples(path.join(root, 'samples'));
    await fs.writeFile(path.join(root, 'samples/train.mp4'), Buffer.alloc(2000, 1));
    const res = await writeReport({ ...base(root), maxVideoBytes: 1000 });
    const html = await fs.readFile(res.output, 'utf8');
    assert.match(html, /<video [^>]*src="train\.mp4"/);
    assert.equal((await fs.stat(path.join(root, 'reports/train.mp4'))).size, 2000);
  }));

test('losses.csv is read by its column names; a header without one names the file and the column', () => {
  assert.deepEqual(
    parseLosses('iteration,epoch,d_loss,g_loss,seconds\n1,0,1.5,0.7,0.1\n2,0,x,1,0.1\n3,0,1.2,0.9,0.1\n', 'losses.csv'),
    [
      { iteration: 1, d: 1.5, g: 0.7 },
      { iteration: 3, d: 1.2, g: 0.9 },
    ],
  );
  assert.throws(
    () => parseLosses('step,loss_d,loss_g\n10,1,2\n', 'run/losses.csv'),
    /^Error: run\/losses\.csv: no "iteration" column/,
  );
  assert.throws(() => parseLosses('iteration,d,g_loss\n10,1,2\n', 'run/losses.csv'), /no "d_loss" column/);
});

test('classifier evaluate JSON: the model beside its baselines, then per genre', () => {
  const rep = (auc: number) => ({
    count: 10,
    microAuc: auc,
    macroAuc: auc - 0.01,
    mAP: 0.4,
    microF1: 0.5,
    macroF1: 0.45,
    hammingLoss: 0.2,
    top1: 0.6,
    perGenre: {
      Action: { precision: 0.5, recall: 0.6, f1: 0.55, auc, ap: 0.4, threshold: 0.3, positives: 4 },
      Drama: { precision: 0.4, recall: 0.5, f1: 0.45, auc, ap: 0.5, threshold: 0.4, positives: 6 },
    },
  });
  const e: Evaluation = {
    model: 'm',
    split: 'test',
    count: 10,
    fingerprint: 'f',
    model_metrics: rep(0.77),
    baselines: { allNegative: rep(0.5), genrePrior: rep(0.5) },
    seedReportedTop1: 0.45,
  };
  const html = renderEvaluation(e);
  assert.match(html, /test split, 10 posters \(the seed reported top-1 45%\)/);
  assert.match(html, /<th>model<\/th><th>genre-prior baseline<\/th><th>all-negative baseline<\/th>/);
  assert.match(html, /<td>microAuc<\/td><td>0\.770<\/td><td>0\.500<\/td><td>0\.500<\/td>/);
  assert.match(html, /<td>Drama<\/td><td>0\.400<\/td>/);
  assert.match(renderEvaluation(rep(0.7)), /validation, 10 posters/, 'a bare report (metadata.validation) renders too');
});

test('evaluation JSON: written and read back through one module; a missing field is one line naming file and field', () =>
  withDir(async (root) => {
    const rep = {
      count: 3,
      microAuc: 0.6,
      macroAuc: 0.6,
      mAP: 0.4,
      microF1: 0.5,
      macroF1: 0.5,
      hammingLoss: 0.2,
      top1: 0.6,
      perGenre: {},
    };
    const e: Evaluation = {
      model: 'm',
      split: 'test',
      count: 3,
      fingerprint: 'f',
      model_metrics: rep,
      baselines: { allNegative: rep, genrePrior: rep },
      seedReportedTop1: 0.45,
    };
    const file = await writeEvaluation(root, e);
    assert.deepEqual(await readEvaluation(file), e);
    const { baselines: _dropped, ...broken } = e;
    await fs.writeFile(file, JSON.stringify(broken));
    await assert.rejects(
      readEvaluation(file),
      (err: Error) => err.message === `${file}: baselines.genrePrior is missing`,
    );
  }));

test('CLI: report on an empty directory writes the page and names what is missing; fid without a model is one error line', () =>
  withDir(async (root) => {
    const run = promisify(execFile);
    const r = await run(process.execPath, [CLI, 'report', '--real_count', '0'], { cwd: root });
    assert.match(
      r.stdout,
      /wrote reports\/report\.html .*not available yet: grids, video, losses, fid, quality, posters, mix, metrics, saliency/,
    );
    await fs.access(path.join(root, 'reports/report.html'));
    await fs.mkdir(path.join(root, 'samples'));
    await fs.mkdir(path.join(root, 'real'));
    const f = await run(process.execPath, [CLI, 'fid', '--real', 'real'], { cwd: root }).catch(
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    assert.equal((f as { code?: number }).code, 2);
    assert.equal(f.stderr.trim().split('\n').length, 1);
    assert.match(f.stderr, /^error: no trained classifier in models; train one with 'poster-studio classifier train'/);
  }));
