/**
 * Hostile input, in tables: script payloads in every field the report shows (genre names from a
 * model's metadata.json, the --real folder's name, a broken model folder's name, fid.json
 * fields), formula payloads in every CSV the studio writes, downloads that never end, lie about
 * their size or point at local files (a 127.0.0.1 server counts the requests), tampered DCGAN
 * and classifier checkpoints, and imdbIds past 2^53.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, test } from 'node:test';
import { predictionsCsv } from '../classifier/predict.js';
import { checkpointName, loadCheckpoint } from '../dcgan/checkpoint.js';
import { recipeByName } from '../dcgan/recipe.js';
import { disposeState } from '../dcgan/state.js';
import { train, type TrainRun } from '../dcgan/train.js';
import { parseMovieCsv } from '../src/core/dataset/csv.js';
import { indexPosters } from '../src/core/dataset/posters.js';
import { DownloadError, fetchWithRetry } from '../src/features/download/fetch-poster.js';
import type { PosterFidResult } from '../src/artifacts/fid-json.js';
import { fidCsv } from '../src/features/fid/poster-fid.js';
import { createRng } from '../src/core/random.js';
import { buildReport } from '../src/features/report/build.js';
import { readModelInfo } from '../src/features/report/inputs.js';
import { scoresCsv } from '../src/features/scoring/format.js';
import { openGenreModel } from '../src/artifacts/classifier-model.js';
import { initBackend } from '../engine/backend.js';
import { makeDcganFixture, tinyConfig, tinyTrain } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { errorLines, hasStackTrace, runCli } from './helpers/run-cli.js';
import {
  writeFakeQuality,
  writeFakeRealPosters,
  writeFakeSamples,
  writeTinyClassifier,
} from './helpers/samples-fixture.js';

before(() => initBackend('cpu', true));

/** Markup that runs script if it reaches the page unescaped (no '/', so each is also a valid folder name). */
const PAYLOADS = [
  '<script>alert(1)<\u2215script>',
  '"><img src=x onerror=alert(2)>',
  "'><svg onload=alert(3)>",
  '<iframe srcdoc=x>',
];

test(
  'report: a script payload in every field it shows reaches the page escaped, never as markup',
  { timeout: 120_000 },
  async () => {
    const root = await tempDir('hostile-report-');
    const samples = path.join(root, 'samples');
    await writeFakeSamples(samples, { iterations: [10, 20] });
    const real = path.join(root, PAYLOADS[1]!);
    await writeFakeRealPosters(real, 6, { width: 16, height: 24 });
    const modelDir = path.join(root, 'models', PAYLOADS[2]!);
    await writeTinyClassifier(modelDir, PAYLOADS.slice(0, 3));
    // Text in every text field of fid.json (its reader refuses text where numbers go).
    await fs.writeFile(
      path.join(samples, 'fid.json'),
      JSON.stringify({
        model: PAYLOADS[3],
        real: { dir: PAYLOADS[0], count: 6 },
        validation: { realVsReal: 1.5, realVsNoise: 3 },
        grids: [
          { file: `grid_000010${PAYLOADS[3]}.png`, iteration: PAYLOADS[1], fid: 4.2 },
          { file: 'grid_000020.png', iteration: 20, fid: 2 },
        ],
      }),
    );
    // The eval curve's feature network is a name from a file, shown in the sample-quality section.
    await writeFakeQuality(samples, { cpuMinutes: true });
    const curve = JSON.parse(await fs.readFile(path.join(samples, 'eval.json'), 'utf8'));
    curve.key.featureNet = PAYLOADS[3];
    await fs.writeFile(path.join(samples, 'eval.json'), JSON.stringify(curve));
    const model = await openGenreModel(modelDir);
    const { html } = await buildReport({
      samplesDir: samples,
      output: path.join(root, 'r.html'),
      model,
      modelNote: 'none',
      modelInfo: await readModelInfo(modelDir),
      realDir: real,
      realCount: 6,
      saliencyPosters: 1,
      seed: 1,
    });
    for (const p of PAYLOADS) {
      assert.equal(html.includes(p), false, `raw payload on the page: ${p}`);
      assert.doesNotMatch(html, /<(script|img src=x|svg onload|iframe)/, 'no injected element');
    }
    // The fields did reach the page (escaped): genre names, the --real folder, the fid.json folder.
    for (const p of PAYLOADS.slice(0, 3))
      assert.ok(
        html.includes(
          p
            .replace(/&/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;')
            .replace(/"/g, '&quot;')
            .replace(/'/g, '&#39;'),
        ),
        `escaped ${p} shown`,
      );
    assert.ok(html.includes('<code>&lt;iframe srcdoc=x&gt;</code>'), 'the feature network is named, escaped');

    // A broken model in a folder named like markup: the CLI's note about it is escaped too.
    const broken = path.join(root, 'broken', PAYLOADS[3]!);
    await fs.mkdir(broken, { recursive: true });
    await fs.writeFile(path.join(broken, 'model.json'), '{ not json');
    await fs.writeFile(path.join(broken, 'metadata.json'), JSON.stringify({ genres: [PAYLOADS[0]] }));
    const out = path.join(root, 'cli.html');
    const r = await runCli(['report', '--samples', samples, '--model', broken, '--real', real, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const page = await fs.readFile(out, 'utf8');
    for (const p of PAYLOADS) assert.equal(page.includes(p), false, `raw payload in the CLI's page: ${p}`);
    assert.ok(page.includes('&lt;iframe srcdoc=x&gt;'), 'the broken folder is named, escaped');
  },
);

/** Text a spreadsheet runs as a formula (first character =, +, -, @, tab, CR). */
const FORMULAS = ['=HYPERLINK("evil.example","y")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\r=1'];

test('CSV: every text cell that starts a formula gets an apostrophe, in every CSV the studio writes', () => {
  const preds = FORMULAS.map((f, i) => ({
    file: f,
    title: FORMULAS[(i + 1) % FORMULAS.length]!,
    scores: { [FORMULAS[2]!]: 0.5 },
    truth: null,
  }));
  const grids = FORMULAS.map((f) => ({ file: f, iteration: 1, epoch: 0, n: 6, fid: 1, meanTerm: 0.5, covTerm: 0.5 }));
  const scoring = {
    genres: [FORMULAS[0]!],
    grids: [],
    skipped: [],
    notes: [],
    singles: FORMULAS.map((f) => ({ file: f, scores: { [FORMULAS[0]!]: 0.25 } })),
  };
  const tables = {
    'classify --csv': predictionsCsv(preds, [FORMULAS[2]!]),
    'fid.csv': fidCsv({ grids } as unknown as PosterFidResult),
    'classify.csv': scoresCsv(scoring as never),
  };
  for (const [name, csv] of Object.entries(tables)) {
    // Parsed the way a spreadsheet splits cells: quoted cells may hold commas and line breaks.
    const cells = [...csv.matchAll(/"((?:[^"]|"")*)"|([^,\n]*)/g)]
      .map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!))
      .filter((c) => c !== '');
    for (const c of cells)
      assert.doesNotMatch(c, /^[=+@\t\r]|^-(?!\d*\.?\d+(e-?\d+)?$)/, `${name}: formula cell ${JSON.stringify(c)}`);
    for (const f of FORMULAS) assert.ok(cells.includes(`'${f}`), `${name}: ${JSON.stringify(f)} kept, neutralised`);
  }
  // Numbers stay numbers: a negative score or loss is not text.
  assert.match(
    fidCsv({
      grids: [{ file: 'g.png', iteration: 1, epoch: 0, n: 6, fid: -0.5, meanTerm: 0, covTerm: 0 }],
    } as unknown as PosterFidResult),
    /g\.png,1,0,6,-0\.5000/,
  );
});

interface Served {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

/** A 127.0.0.1 server: /endless streams forever, /liar declares 50 MB, /small sends 100 bytes. */
async function serve(): Promise<Served> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    } else if (req.url === '/liar') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(50_000_000) });
      res.write(Buffer.alloc(1000));
    } else {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': '100' });
      res.end(Buffer.alloc(100));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => n,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test(
  'downloads: a byte cap on every body, Content-Length checked first, non-http URLs refused without a retry',
  { timeout: 60_000 },
  async () => {
    const s = await serve();
    try {
      const o = { timeoutMs: 20_000, maxBytes: 200_000, retries: 3, backoffMs: 1, rng: createRng(1, 't') };
      const cases: { url: string; kind: string; requests: number }[] = [
        { url: `${s.url}/endless`, kind: 'too large', requests: 1 },
        { url: `${s.url}/liar`, kind: 'too large', requests: 1 },
        { url: 'file:///etc/passwd', kind: 'bad URL', requests: 0 },
        { url: 'data:image/jpeg;base64,AAAA', kind: 'bad URL', requests: 0 },
        { url: 'ftp://127.0.0.1/x.jpg', kind: 'bad URL', requests: 0 },
      ];
      for (const c of cases) {
        const before = s.requests();
        const err = await fetchWithRetry(c.url, o).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof DownloadError, `${c.url}: refused`);
        assert.equal(err.kind, c.kind, c.url);
        assert.equal(s.requests() - before, c.requests, `${c.url}: requests (no retry)`);
      }
      const memory = process.memoryUsage().rss;
      assert.ok(memory < 1e9, `memory stayed bounded (${memory} bytes)`);
      assert.equal((await fetchWithRetry(`${s.url}/small`, o)).length, 100, 'a body under the cap is whole');
    } finally {
      await s.close();
    }
  },
);

/** One tampering of state.json or tensors.bin, and the field the refusal must name. */
interface Tamper {
  name: string;
  edit: (j: Record<string, any>, bin: Buffer) => Buffer | void;
  field: RegExp;
}

const TAMPERS: Tamper[] = [
  { name: 'negative tensor offset', edit: (j) => void (j.tensors[0].offset = -4), field: /"tensors\[0\]\.offset"/ },
  { name: 'offset past the file', edit: (j) => void (j.tensors[2].offset = 1e12), field: /"tensors\[2\]\.offset"/ },
  { name: 'fractional offset', edit: (j) => void (j.tensors[1].offset = 1.5), field: /"tensors\[1\]\.offset"/ },
  { name: 'negative fixedZ length', edit: (j) => void (j.fixedZ.length = -1), field: /"fixedZ\.length"/ },
  {
    name: 'huge shape',
    edit: (j) => void (j.tensors[0].shape = [100000, 100000]),
    field: /"tensors\[0\]\.shape\[0\]"/,
  },
  {
    name: 'huge config',
    edit: (j) => void (j.config.gf = 1024),
    field: /"tensors\.bin" holds \d+ values where this config needs/,
  },
  { name: 'missing config', edit: (j) => void delete j.config, field: /"config" is missing/ },
  { name: 'missing train', edit: (j) => void delete j.train, field: /"train" is missing/ },
  { name: 'string iteration', edit: (j) => void (j.iteration = '5'), field: /"iteration" must be a whole number/ },
  { name: 'zero grid rows', edit: (j) => void (j.train.rows = 0), field: /"train\.rows"/ },
  { name: 'unknown activation', edit: (j) => void (j.config.activationG = 'evil'), field: /"config\.activationG"/ },
  { name: 'truncated tensors.bin', edit: (_, bin) => bin.subarray(0, bin.length - 8), field: /"tensors\.bin" holds/ },
  {
    name: 'tensors.bin not whole floats',
    edit: (_, bin) => Buffer.concat([bin, Buffer.alloc(3)]),
    field: /"tensors\.bin" is \d+ bytes, not a whole number/,
  },
];

test(
  `dcgan checkpoints: ${TAMPERS.length} tamperings refused before any network is built, one line naming file and field`,
  { timeout: 120_000 },
  async () => {
    const data = await makeDcganFixture(12);
    const out = await tempDir('hostile-ckpt-');
    const run: TrainRun = {
      input: data,
      output: out,
      checkpointDir: path.join(out, 'checkpoints'),
      config: tinyConfig(),
      conditional: false,
      seed: 3,
      train: tinyTrain(),
      epochs: 1,
      iterations: 2,
      sampleRate: 2,
      useCheckpoints: true,
      checkpointRate: 2,
      keepCheckpoints: 1,
      resume: false,
      fresh: false,
      quiet: true,
      recipe: recipeByName('small-data'),
    };
    disposeState((await train(run)).state);
    const good = path.join(out, 'checkpoints', checkpointName(2));
    const json = await fs.readFile(path.join(good, 'state.json'), 'utf8');
    const bin = await fs.readFile(path.join(good, 'tensors.bin'));
    disposeState(await loadCheckpoint(good));
    for (const [i, t] of TAMPERS.entries()) {
      const dir = path.join(out, `tampered-${i}`);
      await fs.mkdir(dir);
      const j = JSON.parse(json);
      const b = t.edit(j, Buffer.from(bin)) ?? bin;
      await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify(j));
      await fs.writeFile(path.join(dir, 'tensors.bin'), b);
      const err = await loadCheckpoint(dir).then(
        () => null,
        (e: Error) => e,
      );
      assert.ok(err, `${t.name}: refused`);
      assert.equal(err.name, 'UserError', `${t.name}: ${err.message}`);
      assert.match(err.message, /state\.json/, `${t.name}: names the file`);
      assert.match(err.message, t.field, `${t.name}: ${err.message}`);
      assert.equal(err.message.includes('\n'), false);
    }
    // Through the CLI: exit 2, one error line, no stack trace.
    const r = await runCli([
      'dcgan',
      'generate',
      '--checkpoint',
      path.join(out, 'tampered-0'),
      '--output',
      path.join(out, 'gen'),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(hasStackTrace(r.stderr), false);
    assert.equal(errorLines(r.stderr).length, 1);
    assert.match(errorLines(r.stderr)[0]!, /tampered-0\/state\.json: "tensors\[0\]\.offset"/);
  },
);

test(
  '--resume takes the batch from the checkpoint: other grid flags on resume change nothing, bit for bit',
  { timeout: 120_000 },
  async () => {
    const data = await makeDcganFixture(12);
    const base = (output: string): TrainRun => ({
      input: data,
      output,
      checkpointDir: path.join(output, 'checkpoints'),
      config: tinyConfig(),
      conditional: false,
      seed: 9,
      train: tinyTrain(2, 3),
      epochs: 1,
      iterations: 4,
      sampleRate: 2,
      useCheckpoints: true,
      checkpointRate: 2,
      keepCheckpoints: 2,
      resume: false,
      fresh: false,
      quiet: true,
      recipe: recipeByName('small-data'),
    });
    const straight = await tempDir('hostile-batch-a-');
    disposeState((await train(base(straight))).state);
    const split = await tempDir('hostile-batch-b-');
    disposeState((await train({ ...base(split), iterations: 2 })).state);
    // The flags now ask for a 3x4 grid (batch 12): the checkpoint's 2x3 (batch 6) must win.
    disposeState((await train({ ...base(split), train: tinyTrain(3, 4), resume: true })).state);
    const rows = async (d: string) =>
      (await fs.readFile(path.join(d, 'losses.csv'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split(',').slice(0, 4).join(','));
    assert.deepEqual(await rows(split), await rows(straight));
    assert.deepEqual(
      await fs.readFile(path.join(split, 'grid_000004.png')),
      await fs.readFile(path.join(straight, 'grid_000004.png')),
    );
  },
);

test('imdbIds past 2^53 are refused (CSV rows skipped with a reason, such poster names not read as ids)', async () => {
  const csv =
    'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n9007199254740993,x,A (1990),,Drama,\n9007199254740992,x,B (1991),,Drama,\n114709,x,Toy Story (1995),,Animation,\n';
  const t = parseMovieCsv(csv, 'utf-8', 'MovieGenre.csv');
  assert.deepEqual(
    t.movies.map((m) => m.imdbId),
    [114709],
  );
  assert.equal(t.malformed.length, 2);
  assert.match(t.malformed[0]!.reason, /imdbId '9007199254740993' is too large/);
  const dir = await tempDir('hostile-ids-');
  for (const n of ['9007199254740993.jpg', '9007199254740992.jpg', '114709.jpg'])
    await fs.writeFile(path.join(dir, n), '');
  assert.deepEqual([...indexPosters(dir).keys()], [114709]);
});
