import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildReport, type ReportOptions } from '../src/features/report/build.js';
import { EVAL_JSON, readCurveJson } from '../src/artifacts/eval-curve.js';
import { readKidCsv } from '../src/artifacts/kid-log.js';
import { REPO_ROOT } from './helpers/shared-data.js';
import { FAKE_FEATURE_NET, writeFakeQuality, writeFakeSamples } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const CLI = path.join(REPO_ROOT, 'dist/cli/poster-studio.js');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('report-quality');
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const options = (root: string): ReportOptions => ({
  samplesDir: path.join(root, 'samples'),
  output: path.join(root, 'report.html'),
  model: null,
  modelNote: 'no trained classifier',
  modelInfo: null,
  realDir: null,
  realCount: 0,
  saliencyPosters: 0,
  seed: 1,
});

/** The sample-quality section of a page, and whether it says it is available. */
function quality(html: string): { available: boolean; html: string } {
  const m = /<section id="quality" data-available="(true|false)">([\s\S]*?)<\/section>/.exec(html);
  assert.ok(m, 'the page has a sample-quality section');
  return { available: m[1] === 'true', html: m[2]! };
}

const chartTitles = (html: string): string[] =>
  [...html.matchAll(/<svg class="chart" role="img" aria-label="([^"]+)"/g)].map((m) => m[1]!);

test('eval.json and kid.csv: KID, FID, precision/recall over iteration and CPU minutes, the network named', () =>
  withDir(async (root) => {
    const samples = path.join(root, 'samples');
    await writeFakeSamples(samples);
    await writeFakeQuality(samples, { cpuMinutes: true });
    const q = quality((await buildReport(options(root))).html);
    assert.equal(q.available, true);
    assert.ok(q.html.includes(`<code>${FAKE_FEATURE_NET}</code>`), 'the feature network is printed');
    assert.deepEqual(chartTitles(q.html), [
      'KID over iteration',
      'FID over iteration',
      'precision and recall',
      'KID over CPU minutes',
      'FID over CPU minutes',
    ]);
    assert.match(q.html, /<title>in-training KID \(kid\.csv\)<\/title>/, 'kid.csv is its own series');
    assert.match(q.html, /stroke-dasharray="6 4" class="series"><title>real vs real<\/title>/, 'the floor is drawn');
    assert.match(q.html, /noise \(ceiling\)<b>KID 0\.900 ± 0\.0900 · FID 400<\/b>/, 'noise is stated');
    // Three eval rows and three kid.csv rows with a std each, on the KID-over-iteration chart.
    const kidChart = q.html.slice(0, q.html.indexOf('aria-label="FID over iteration"'));
    assert.equal(kidChart.match(/class="errorbar"/g)?.length, 6);
    assert.match(q.html, /poster-FID of <code>poster-studio fid<\/code> is the cheap in-training signal/);
  }));

test('rows without CPU minutes: the CPU-minutes charts are left out and the section says why', () =>
  withDir(async (root) => {
    const samples = path.join(root, 'samples');
    await writeFakeSamples(samples);
    await writeFakeQuality(samples, { cpuMinutes: false });
    const q = quality((await buildReport(options(root))).html);
    assert.equal(q.available, true);
    assert.deepEqual(chartTitles(q.html), ['KID over iteration', 'FID over iteration', 'precision and recall']);
    assert.match(q.html, /No CPU-minutes charts: .*without <code>--cpu_log<\/code>/);
  }));

test('the strict readers: what writeCurve and writeKidRow wrote reads back; a damaged field or line is named', () =>
  withDir(async (root) => {
    await writeFakeQuality(root, { cpuMinutes: false });
    const file = path.join(root, EVAL_JSON);
    const curve = await readCurveJson(file);
    assert.deepEqual(
      curve?.rows.map((r) => [r.iteration, r.cpuMinutes]),
      [
        [100, null],
        [200, null],
        [300, null],
      ],
    );
    assert.deepEqual(
      (await readKidCsv(root)).map((k) => k.iteration),
      [50, 150, 300],
    );
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    json.rows[1].kid = { mean: 'low' };
    await fs.writeFile(file, JSON.stringify(json));
    await assert.rejects(readCurveJson(file), { message: `${file}: "rows[1].kid.mean" is missing or malformed` });
    await fs.appendFile(path.join(root, 'kid.csv'), '400,oops,0.1\n');
    await assert.rejects(readKidCsv(root), /kid\.csv: line 5 is not iteration,kid_mean,kid_std$/);
    assert.equal(await readCurveJson(path.join(root, 'none.json')), null);
  }));

test('CLI: a damaged eval.json is a listed problem and the rest of the report is written; --eval reads a curve elsewhere', () =>
  withDir(async (root) => {
    const run = promisify(execFile);
    const samples = path.join(root, 'samples');
    await writeFakeSamples(samples);
    await writeFakeQuality(samples, { cpuMinutes: true });
    await fs.writeFile(path.join(samples, EVAL_JSON), '{"version": 1, "rows": [');
    const args = [CLI, 'report', '--real_count', '0', '--saliency_posters', '0', '--models', 'none'];
    const r = await run(process.execPath, args, { cwd: root });
    assert.match(r.stderr, /^report: .*samples\/eval\.json: not readable JSON/m);
    const html = await fs.readFile(path.join(root, 'reports/report.html'), 'utf8');
    assert.match(html, /<section id="grids" data-available="true">/, 'the rest of the report is there');
    const q = quality(html);
    assert.equal(q.available, true, 'kid.csv still shows');
    assert.deepEqual(chartTitles(q.html), ['KID over iteration']);
    assert.match(q.html, /Not read: .*eval\.json: not readable JSON/);

    const elsewhere = path.join(root, 'eval-out');
    await writeFakeQuality(elsewhere, { cpuMinutes: false });
    await run(process.execPath, [...args, '--eval', 'eval-out'], { cwd: root });
    const q2 = quality(await fs.readFile(path.join(root, 'reports/report.html'), 'utf8'));
    assert.ok(q2.html.includes(FAKE_FEATURE_NET), 'the curve from --eval is read');
    assert.ok(q2.html.includes(path.join('eval-out', EVAL_JSON)));

    const bad = await run(process.execPath, [...args, '--eval', 'missing'], { cwd: root }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((bad as { code?: number }).code, 2);
    assert.match(bad.stderr, /^error: .*--eval: missing does not exist\n$/);
    await fs.mkdir(path.join(root, 'empty'));
    const none = await run(process.execPath, [...args, '--eval', 'empty'], { cwd: root });
    assert.match(
      none.stderr,
      /^report: --eval: no eval\.json in empty; dcgan eval writes it there with --output empty$/m,
    );
  }));
