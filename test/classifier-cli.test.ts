import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDirSync } from './helpers/temp-dir.js';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { formatPrediction } from '../classifier/predict.js';
import { unwritableReason } from '../src/core/fs/atomic.js';
import { makeClassifierFixture, type ClassifierFixture } from './helpers/classifier-fixture.js';

const distCli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli');
const studio = path.join(distCli, 'poster-studio.js');
const classifyBin = path.join(distCli, 'classify.js');

function run(bin: string, args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, CI: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let fx: ClassifierFixture;
before(async () => {
  fx = await makeClassifierFixture();
});

test('formatPrediction: seed style, [!] on genres the movie does not have, threshold genres beyond top', () => {
  const p = {
    file: 'x/133093.jpg',
    title: 'The Matrix (1999)',
    scores: { Action: 0.91, Drama: 0.25, Comedy: 0.05, Horror: 0.2 },
    truth: ['Action', 'Sci-Fi'],
  };
  assert.equal(formatPrediction(p, {}, 2), "The Matrix (1999)  ['Action: 91%', 'Drama[!]: 25%']");
  assert.equal(formatPrediction(p, { Horror: 0.1 }, 1), "The Matrix (1999)  ['Action: 91%', 'Horror[!]: 20%']");
  assert.equal(
    formatPrediction({ ...p, truth: null, title: 'poster.png' }, {}, 0),
    "poster.png  ['Action: 91%', 'Drama: 25%', 'Horror: 20%', 'Comedy: 5%']",
  );
});

test('bad flags and missing inputs: one line, exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    [studio, ['classifier', 'train', '--epochs', '0', '--csv', fx.csv, '--data', fx.posters], /epochs/],
    [studio, ['classifier', 'train', '--version', '9', '--csv', fx.csv, '--data', fx.posters], /version/],
    [studio, ['classifier', 'train', '--genres', 'Cartoons', '--csv', fx.csv, '--data', fx.posters], /Cartoons/],
    [
      studio,
      ['classifier', 'train', '--min_year', '2000', '--max_year', '1990', '--csv', fx.csv, '--data', fx.posters],
      /year/,
    ],
    [studio, ['classifier', 'train', '--csv', path.join(fx.dir, 'nope.csv'), '--data', fx.posters], /nope\.csv/],
    [studio, ['classifier', 'evaluate', '--models', path.join(fx.dir, 'empty')], /no trained classifier/],
    [studio, ['classifier', 'compare', '--versions', '1,7', '--csv', fx.csv, '--data', fx.posters], /versions/],
    // An explicit --models asks for the newest model there: an empty one is an error, not the shipped default.
    [
      classifyBin,
      [fx.posters, '--models', path.join(fx.dir, 'empty')],
      /--models: no trained classifier.*classifier train/,
    ],
    [
      studio,
      ['classifier', 'evaluate', '--models', path.join(fx.dir, 'empty'), '--retune'],
      /--retune.*--split validation/,
    ],
    [studio, ['classifier', 'train', '--tta', 'mirror', '--csv', fx.csv, '--data', fx.posters], /--tta.*flip/],
  ];
  for (const [bin, args, re] of cases) {
    const r = run(bin, args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    const lines = r.err
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('backend:'));
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(lines[0]!, /error/);
    assert.match(lines[0]!, re);
  }
});

test('unwritableReason: null for a folder it can write, the reason for one it cannot', async () => {
  const dir = tempDirSync('clf-w-');
  assert.equal(await unwritableReason(dir), null);
  // A path under a file cannot be written whoever runs the test (chmod does not stop root).
  writeFileSync(path.join(dir, 'file'), '');
  assert.match((await unwritableReason(path.join(dir, 'file', 'model'))) ?? '', /^ENOTDIR: not a directory$/);
});

test('classify with no --model or --models uses the shipped classifier and says so in one line', () => {
  const cwd = tempDirSync('clf-default-');
  const c = run(classifyBin, [path.join(fx.posters, '1.jpg'), '--truth_csv', path.join(cwd, 'none.csv')], cwd);
  assert.equal(c.code, 0, c.err);
  const said = c.err.split('\n').filter((l) => l.startsWith('classifier:'));
  assert.equal(said.length, 1, c.err);
  assert.match(
    said[0]!,
    /^classifier: the shipped default, poster-features-v4-r30 \(.*models[\\/]default[\\/]classifier; genre scores averaged with the mirrored poster\)$/,
  );
  assert.match(c.out, /^1\.jpg {2}\['(Comedy|Drama|Action|Animation|Romance|Adventure|Horror): \d+%'/);
  assert.match(c.err, /scored 1 poster\(s\) with poster-features-v4-r30/);
});

test('train, evaluate and classify from the CLI on a tiny set', () => {
  const models = tempDirSync('clf-cli-');
  const t = run(studio, [
    'classifier',
    'train',
    '--csv',
    fx.csv,
    '--data',
    fx.posters,
    '--models',
    models,
    '--ratio',
    '10',
    '--epochs',
    '2',
    '--version',
    '4',
    '--lr',
    '0.003',
    '--batch',
    '16',
    '--tta',
    'flip',
  ]);
  assert.equal(t.code, 0, t.err);
  const dir = path.join(models, 'genres-7_ratio-10_v4_any-any');
  assert.match(t.out, /genres-7_ratio-10_v4_any-any: best epoch \d\/2, validation micro-AUC/);
  assert.match(t.err, /epoch 2\/2 .*macro-AUC/);
  assert.match(t.err, /IMDB-score head: trained on the \d+ training posters that have a score/);
  for (const f of ['model.json', 'weights.bin', 'metadata.json', 'checkpoint/state.json'])
    assert.ok(existsSync(path.join(dir, f)), f);
  const meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  assert.equal(meta.genres.length, 7);
  assert.deepEqual(meta.input, { width: 18, height: 27, channels: 3, range: 'unit' });
  assert.equal(meta.thresholds.length, 7);
  assert.match(meta.dataset.fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(meta.tta, 'flip', 'train --tta is saved with the model');

  const e = run(studio, ['classifier', 'evaluate', '--models', models, '--split', 'validation']);
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /micro-AUC/);
  assert.match(e.out, /top-1 hit rate/);
  const ev = JSON.parse(readFileSync(path.join(dir, 'evaluation-validation.json'), 'utf8'));
  assert.ok(ev.model_metrics.microAuc >= 0 && ev.model_metrics.microAuc <= 1);
  assert.equal(ev.baselines.allNegative.macroAuc, 0.5);
  assert.equal(ev.tta, 'flip', "evaluate scores with the model's own tta");

  // --retune: the thresholds of the scores asked for land in metadata.json, the weights stay as they were.
  const weights = readFileSync(path.join(dir, 'weights.bin'));
  const rt = run(studio, [
    'classifier',
    'evaluate',
    '--model',
    dir,
    '--split',
    'validation',
    '--tta',
    'none',
    '--retune',
  ]);
  assert.equal(rt.code, 0, rt.err);
  assert.match(rt.err, /retuned the thresholds of .* on \d+ validation posters \(tta none\)/);
  const retuned = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  const rev = JSON.parse(readFileSync(path.join(dir, 'evaluation-validation.json'), 'utf8'));
  assert.equal(retuned.tta, 'none');
  assert.deepEqual(
    retuned.thresholds,
    retuned.genres.map((g: string) => rev.model_metrics.perGenre[g].threshold),
  );
  assert.deepEqual(readFileSync(path.join(dir, 'weights.bin')), weights);

  // A read-only model folder (the shipped model of a global install) is evaluated all the same; the
  // evaluation goes to --json only, a line says why, and --retune is refused before any work.
  const ro = tempDirSync('clf-ro-');
  for (const f of ['model.json', 'weights.bin', 'metadata.json']) copyFileSync(path.join(dir, f), path.join(ro, f));
  chmodSync(ro, 0o555);
  try {
    const kept = path.join(fx.dir, 'ro-evaluation.json');
    const r = run(studio, ['classifier', 'evaluate', '--model', ro, '--split', 'validation', '--json', kept]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /micro-AUC/);
    assert.equal(JSON.parse(readFileSync(kept, 'utf8')).split, 'validation');
    const retune = run(studio, ['classifier', 'evaluate', '--model', ro, '--split', 'validation', '--retune']);
    if (process.getuid?.() === 0) {
      // chmod does not stop root: the not-writable answer itself is checked in the next test.
      assert.equal(r.err.includes('not writable'), false, 'root can write there, so it wrote beside the model');
    } else {
      assert.match(
        r.err,
        /^evaluation-validation\.json not written beside the model: .*clf-ro-\w+ is not writable \(EACCES: permission denied\); --json .*ro-evaluation\.json keeps it$/m,
      );
      assert.deepEqual(readdirSync(ro).sort(), ['metadata.json', 'model.json', 'weights.bin']);
      assert.equal(retune.code, 2, retune.err);
      assert.match(retune.err, /^error: --retune: .*clf-ro-\w+ is not writable \(EACCES/m);
    }
  } finally {
    chmodSync(ro, 0o755);
  }

  // An evaluation file the user put beside a model is refused before any scoring, and kept.
  const theirs = mkdtempSync(path.join(fx.dir, 'theirs-'));
  for (const f of ['model.json', 'weights.bin', 'metadata.json']) copyFileSync(path.join(dir, f), path.join(theirs, f));
  writeFileSync(path.join(theirs, 'evaluation-validation.json'), 'my notes\n');
  const refused = run(studio, ['classifier', 'evaluate', '--model', theirs, '--split', 'validation']);
  assert.equal(refused.code, 2, refused.err);
  assert.match(
    refused.err,
    /^error: --model: .*evaluation-validation\.json exists and was not written by poster-studio/m,
  );
  assert.equal(refused.out, '', 'refused before evaluating');
  assert.equal(readFileSync(path.join(theirs, 'evaluation-validation.json'), 'utf8'), 'my notes\n');

  // A poster directory with one file that is not an image and one not named by an id.
  const input = tempDirSync('clf-in-');
  for (const id of [1, 2, 3, 5]) copyFileSync(path.join(fx.posters, `${id}.jpg`), path.join(input, `${id}.jpg`));
  copyFileSync(path.join(fx.posters, '4.jpg'), path.join(input, 'unknown-poster.jpg'));
  copyFileSync(fx.broken, path.join(input, '9999.jpg'));
  const jsonOut = path.join(input, 'out', 'scores.json');
  const csvOut = path.join(input, 'scores.csv');
  const c = run(classifyBin, [
    input,
    '--models',
    models,
    '--truth_csv',
    fx.csv,
    '--top',
    '0',
    '--json',
    jsonOut,
    '--csv',
    csvOut,
  ]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.err, /skipped .*9999\.jpg/);
  const lines = c.out.trim().split('\n');
  assert.equal(lines.length, 5);
  const truth = new Map(
    readFileSync(fx.csv, 'latin1')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => {
        const f = l.split(',');
        return [`Movie ${f[0]} `, f[4]!.split('|')];
      }),
  );
  let marks = 0;
  // Titles padded to one width, so every genre list starts in the same column; then the year and
  // IMDB-score heads' predictions beside their validation error.
  assert.equal(new Set(lines.map((l) => l.indexOf("  ['"))).size, 1, c.out);
  for (const line of lines) {
    assert.match(
      line,
      /^(Movie \d+ \(\d{4}\)|unknown-poster\.jpg) *  \['[A-Za-z-]+(\[!\])?: \d+%'(, '[A-Za-z-]+(\[!\])?: \d+%')*\]  year \d{4} \(±\d+\.\d\)  IMDB \d+\.\d \(±\d+\.\d\d\)$/,
    );
    const key = [...truth.keys()].find((k) => line.startsWith(k));
    for (const m of line.matchAll(/'([A-Za-z-]+)(\[!\])?: /g)) {
      if (key) assert.equal(!!m[2], !truth.get(key)!.includes(m[1]!), line);
      else assert.equal(m[2], undefined, line);
      if (m[2]) marks++;
    }
  }
  assert.ok(marks > 0, 'all 7 genres shown, so wrong genres must be marked');
  const js = JSON.parse(readFileSync(jsonOut, 'utf8'));
  assert.equal(js.length, 5);
  assert.deepEqual(Object.keys(js[0]), ['file', 'title', 'scores', 'predicted']);
  assert.equal(Object.keys(js[0].scores).length, 7);
  assert.deepEqual(Object.keys(js[0].predicted), ['year', 'score'], 'the year and IMDB-score heads');
  assert.equal(readFileSync(csvOut, 'utf8').trim().split('\n').length, 6);
});
