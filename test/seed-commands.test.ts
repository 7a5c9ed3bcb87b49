/**
 * The seed's own commands as its users typed them (our bin names in place of `python3 x.py`),
 * end to end on a small synthetic set in a working directory laid out as the seed's
 * (data/MovieGenre.csv, data/posters): the four commands of the seed's README, the fork's
 * training command and its test mode, plus a DCGAN on a bare folder of images.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { seedAccuracy } from '../classifier/evaluate.js';
import { SPELLING_NOTE, normalizeArgv } from '../src/core/flags.js';
import { loadRgb } from '../src/core/images/decode.js';
import { probeVideo } from '../src/features/video/probe.js';
import { REPO_ROOT } from './helpers/shared-data.js';
import { runCli, type CliResult } from './helpers/run-cli.js';
import { OWNED_LIST } from '../src/core/fs/ownership.js';

const bin = (name: string): string => path.join(REPO_ROOT, 'dist/cli', `${name}.js`);
// The fork's flags as typed, then only what keeps the run inside the suite's budget: one epoch
// of a 3-layer network with few filters at 16 pixels wide (the height follows the posters' aspect).
const SMALL_GAN = [
  '--epoch=1',
  '--output_width=16',
  '--nbr_of_layers_g=3',
  '--nbr_of_layers_d=3',
  '--gf_dim=4',
  '--df_dim=4',
  '--z_dim=6',
  '--k_w=3',
  '--k_h=3',
  '--render_video=false',
];

let work = '';
before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'seed-commands-'));
  const s = await run('poster-studio', ['synth', '--output', 'data', '--count', '400', '--seed', '11']);
  assert.equal(s.code, 0, s.stderr);
});
after(() => rmSync(work, { recursive: true, force: true }));

function run(name: string, args: string[], timeoutMs = 300_000): Promise<CliResult> {
  return runCli(args, { cwd: work, timeoutMs }, bin(name));
}

test('single-dash long flags become long flags only when a command knows the name', () => {
  const known = new Set(['min-year', 'download', 'sample-rate']);
  assert.deepEqual(
    normalizeArgv(
      [
        'node',
        'x',
        '-min_year=1980',
        '-download',
        '-o',
        'out',
        '-5',
        '--sample_rate',
        '2',
        '-unknown',
        '--',
        '-min_year',
      ],
      known,
    ),
    [
      'node',
      'x',
      '--min-year=1980',
      '--download',
      '-o',
      'out',
      '-5',
      '--sample-rate',
      '2',
      '-unknown',
      '--',
      '-min_year',
    ],
  );
});

test("the seed's get_data.py -download -resize: posters on disk are resized into data/posters/60/, idempotently", async () => {
  const help = await run('get-data', ['--help']);
  assert.equal(help.stdout.split(SPELLING_NOTE).length, 2, '--help says it once');
  const r = await run('get-data', ['-download', '-resize']);
  assert.equal(r.code, 0, r.stderr);
  const posters = readdirSync(path.join(work, 'data/posters')).filter((n) => n.endsWith('.jpg'));
  assert.match(
    r.stdout,
    new RegExp(`resize: ${posters.length} posters at 109x161 in data/posters/60: ${posters.length} written`),
  );
  assert.deepEqual(
    readdirSync(path.join(work, 'data/posters/60'))
      .filter((n) => n !== OWNED_LIST)
      .sort(),
    [...posters].sort(),
  );
  const again = await run('get-data', ['-download', '-resize']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`0 written, ${posters.length} already done`));
});

test(
  "the seed's prepare_dcgan_dataset.py command, then the fork's main.py --train and its test mode",
  { timeout: 600_000 },
  async () => {
    const p = await run('prepare-dcgan', ['-min_year=1980', '-exclude_genres=Animation,Comedy,Family', '-ratio=60']);
    assert.equal(p.code, 0, p.stderr);
    const manifest = JSON.parse(readFileSync(path.join(work, 'data/dcgan/manifest.json'), 'utf8')) as {
      params: Record<string, unknown>;
      kept: unknown[];
    };
    assert.deepEqual(manifest.params, {
      min_year: 1980,
      max_year: null,
      include_genres: [],
      exclude_genres: ['Animation', 'Comedy', 'Family'],
      ratio: 60,
      selection: 'strict',
    });
    assert.ok(manifest.kept.length >= 60, `one 6x10 batch needs 60 posters, kept ${manifest.kept.length}`);

    const t = await run('dcgan', [
      '--dataset',
      'dcgan_movies_posters',
      '--grid_height=6',
      '--grid_width=10',
      '-sample_rate=2',
      '--train',
      ...SMALL_GAN,
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /training on \d+ posters at 16x24, batch 60 \(6x10 grid\)/);
    assert.match(t.stdout, /trained \d+ iterations/);
    const sidecar = JSON.parse(readFileSync(path.join(work, 'samples/grid_000000.json'), 'utf8')) as {
      rows: number;
      cols: number;
      cellWidth: number;
      cellHeight: number;
    };
    assert.deepEqual([sidecar.rows, sidecar.cols, sidecar.cellWidth, sidecar.cellHeight], [6, 10, 16, 24]);
    assert.ok(readdirSync(path.join(work, 'samples/checkpoints')).some((n) => n.startsWith('ckpt_')));

    // No --train: test mode from the checkpoint.
    const v = await run('dcgan', ['--dataset', 'dcgan_movies_posters', '--grid_height=6', '--grid_width=10']);
    assert.equal(v.code, 0, v.stderr);
    const test = path.join(work, 'samples/test');
    assert.deepEqual(
      readdirSync(test)
        .filter((n) => n.startsWith('arange_'))
        .sort(),
      ['000', '001', '002', '003', '004', '005'].map((d) => `arange_${d}.png`),
    );
    const grid = await sharp(path.join(test, 'arange_000.png')).metadata();
    const samples = await sharp(path.join(test, 'samples.png')).metadata();
    assert.deepEqual([grid.width, grid.height], [samples.width, samples.height]);
    const video = await probeVideo(path.join(test, 'interpolation.mp4'));
    assert.equal(video.frames, 2 * 16, 'three random points, 16 frames between each two');
    assert.ok(!readdirSync(test).some((n) => n.startsWith('.frames-')), 'staged frames removed');
  },
);

test(
  "the seed's __main__.py and tests.py: classifier train, then evaluate --all with the seed's accuracy and aligned test movies; classify --movie",
  { timeout: 600_000 },
  async () => {
    const tr = await run('poster-studio', [
      'classifier',
      'train',
      '-ratio=10',
      '-epochs=1',
      '--batch=32',
      '--models',
      'models',
    ]);
    assert.equal(tr.code, 0, tr.stderr);
    const ev = await run('poster-studio', ['classifier', 'evaluate', '--all', '--models', 'models']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /^=== models\//m);
    assert.match(ev.stdout, /seed's "overall accuracy" \(Keras categorical accuracy.*\): \d+\.\d% on \d+ posters/);
    const lines = ev.stdout.split('\n').filter((l) => l.includes("  ['"));
    assert.ok(lines.length >= 4, ev.stdout);
    assert.equal(new Set(lines.map((l) => l.indexOf("  ['"))).size, 1, `aligned columns:\n${lines.join('\n')}`);

    const csv = readFileSync(path.join(work, 'data/MovieGenre.csv'), 'latin1').split('\n')[5]!.split(',');
    const title = csv[2]!;
    const c = await run('classify', ['--movie', title, '--models', 'models']);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(c.stdout.startsWith(title), c.stdout);
    assert.match(c.stdout, /year \d{4} \(±\d+\.\d\)/, 'the year head with its validation error');
    const byId = await run('classify', ['--movie', csv[0]!, '--models', 'models']);
    assert.equal(byId.stdout, c.stdout, 'an imdbId finds the same poster');
    const none = await run('classify', ['--movie', 'No Such Movie', '--models', 'models']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^error: --movie: no movie titled 'No Such Movie'/);
  },
);

test(
  'dcgan train on a bare folder of images: no manifest, unreadable files skipped and counted, any size, --batch_size apart from the grid',
  { timeout: 300_000 },
  async () => {
    const dir = path.join(work, 'folder');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 7; i++) {
      await sharp({
        create: { width: 21, height: 31, channels: 3, background: { r: 30 * i, g: 100, b: 200 - 20 * i } },
      })
        .png()
        .toFile(path.join(dir, `img${i}.png`));
    }
    writeFileSync(path.join(dir, 'broken.png'), 'not a png');
    writeFileSync(path.join(dir, 'notes.txt'), 'not an image, not matched');
    const out = path.join(work, 'folder-out');
    const tiny = [
      '--nbr_of_layers_g=3',
      '--nbr_of_layers_d=3',
      '--gf_dim=4',
      '--df_dim=4',
      '--z_dim=4',
      '--k_w=3',
      '--k_h=3',
      '--render_video=false',
      '--backend=cpu',
    ];
    const r = await run('dcgan', [
      'train',
      '--input',
      dir,
      '--output',
      out,
      '--grid_height=2',
      '--grid_width=2',
      '--batch_size=3',
      '--train_size=5',
      '--learning_rate=0.001',
      '--iterations=2',
      ...tiny,
    ]);
    assert.equal(r.code, 0, r.stderr);
    // --train_size 5 leaves one whole batch of 3 per epoch.
    assert.match(r.stderr, /training on 7 posters at 21x31, batch 3 \(2x2 grid\), 1 iterations per epoch/);
    const state = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'ckpt_000002', 'state.json'), 'utf8')) as {
      train: Record<string, number>;
    };
    assert.deepEqual([state.train.learningRateG, state.train.learningRateD, state.train.batchSize], [0.001, 0.001, 3]);
    assert.match(r.stderr, /posters that could not be decoded are left out: skipped 1:\n {2}skipped broken\.png: /);
    const sidecar = JSON.parse(readFileSync(path.join(out, 'grid_000002.json'), 'utf8')) as {
      rows: number;
      cols: number;
      cellWidth: number;
      cellHeight: number;
    };
    assert.deepEqual([sidecar.rows, sidecar.cols, sidecar.cellWidth, sidecar.cellHeight], [2, 2, 21, 31]);
    const none = await run('dcgan', [
      'train',
      '--input',
      dir,
      '--output',
      path.join(work, 'never'),
      '--input_fname_pattern=*.jpg',
      ...tiny,
    ]);
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /^error: --input: .* has no manifest.json and no file matching --input_fname_pattern '\*\.jpg'/m,
    );
    assert.ok(!existsSync(path.join(work, 'never')));
  },
);

test('--crop cuts the centre input_width x input_height before the resize', async () => {
  // A red poster with a green 10x10 centre: the cropped centre is all green.
  const green = await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: 0, g: 255, b: 0 } } })
    .png()
    .toBuffer();
  const img = await sharp({ create: { width: 30, height: 40, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .composite([{ input: green, left: 10, top: 15 }])
    .png()
    .toBuffer();
  const cropped = await loadRgb(img, 4, 4, { width: 10, height: 10 });
  for (let i = 0; i < cropped.data.length; i += 3)
    assert.ok(cropped.data[i]! < 20 && cropped.data[i + 1]! > 235, `pixel ${i / 3}`);
  const whole = await loadRgb(img, 4, 4);
  assert.ok(whole.data[0]! > 235, 'without the crop the red border stays');
});

test("the seed's accuracy is Keras categorical accuracy: argmax of the scores against the first genre in list order", () => {
  // 3 genres; movie 0: genres {0, 2}, top score 2 -> wrong for Keras (its label argmax is 0);
  // movie 1: {1, 2}, top 1 -> right; movie 2: one genre only -> not counted; movie 3: {0, 1}, top 0 -> right.
  const scores = new Float32Array([0.2, 0.1, 0.9, 0.1, 0.8, 0.3, 0.9, 0.0, 0.0, 0.7, 0.6, 0.1]);
  const labels = new Uint8Array([1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0]);
  assert.deepEqual(seedAccuracy(scores, labels, [2, 3, 1, 2], 3), { value: 2 / 3, count: 3 });
});
