import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { OwnedDir } from '../src/core/fs/ownership.js';
import { initBackend } from '../engine/backend.js';
import { parseSidecar } from '../src/artifacts/grid-sidecar.js';
import { listCheckpoints, loadCheckpoint, checkpointName } from '../dcgan/checkpoint.js';
import { generate, meanPairwiseDistance } from '../dcgan/generate.js';
import { recipeByName } from '../dcgan/recipe.js';
import { namedTensors, disposeState } from '../dcgan/state.js';
import { train, type TrainRun } from '../dcgan/train.js';
import { makeDcganFixture, tinyConfig, tinyTrain } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

let data = '';
before(async () => {
  await initBackend('cpu', true);
  data = await makeDcganFixture(12);
});

function run(output: string, over: Partial<TrainRun> = {}): TrainRun {
  return {
    input: data,
    output,
    checkpointDir: path.join(output, 'checkpoints'),
    config: tinyConfig(),
    conditional: false,
    seed: 5,
    train: tinyTrain(),
    epochs: 1,
    iterations: 6,
    sampleRate: 2,
    useCheckpoints: true,
    checkpointRate: 3,
    keepCheckpoints: 2,
    resume: false,
    fresh: false,
    quiet: true,
    recipe: recipeByName('small-data'),
    ...over,
  };
}

const lossRows = async (dir: string): Promise<string[]> =>
  (await fs.readFile(path.join(dir, 'losses.csv'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(',').slice(0, 4).join(','));

test('6 iterations straight equal 3 + kill + resume + 3, bit for bit', async () => {
  const straight = await tempDir('dcgan-straight-');
  const a = await train(run(straight));
  assert.equal(a.state.iteration, 6);

  const split = await tempDir('dcgan-split-');
  const b1 = await train(run(split, { iterations: 3 }));
  assert.equal(b1.state.iteration, 3);
  disposeState(b1.state);
  // What a kill after the checkpoint leaves: rows and a grid past it, and a torn last row.
  await fs.appendFile(path.join(split, 'losses.csv'), '4,1,0.5,0.5,0.1\n3,1,0.5,0.5,0.1\n5,2,0.3');
  // (a run lists a grid as its own before writing it, so the killed run's grid is listed too)
  await (await OwnedDir.open(split)).claim(['grid_000004.png']);
  await fs.copyFile(path.join(split, 'grid_000002.png'), path.join(split, 'grid_000004.png'));
  const b2 = await train(run(split, { resume: true }));
  assert.equal(b2.state.iteration, 6);

  const ta = namedTensors(a.state);
  const tb = namedTensors(b2.state);
  assert.deepEqual(
    ta.map(([n]) => n),
    tb.map(([n]) => n),
  );
  for (let i = 0; i < ta.length; i++) {
    assert.deepEqual(tb[i]![1].dataSync(), ta[i]![1].dataSync(), `${ta[i]![0]} differs after resume`);
  }
  assert.equal(b2.state.optG.step, a.state.optG.step);
  assert.deepEqual(b2.state.fixedZ, a.state.fixedZ);

  const rowsA = await lossRows(straight);
  const rowsB = await lossRows(split);
  assert.equal(rowsA.length, 7, 'header + one row per iteration');
  assert.deepEqual(rowsB, rowsA, 'losses.csv after resume: same rows, none repeated or torn');

  for (const it of [0, 2, 4, 6]) {
    const name = `grid_${String(it).padStart(6, '0')}.png`;
    assert.deepEqual(
      await fs.readFile(path.join(split, name)),
      await fs.readFile(path.join(straight, name)),
      `${name} differs`,
    );
  }
  assert.deepEqual(await listCheckpoints(path.join(split, 'checkpoints')), [6, 3], 'keeps the newest 2 checkpoints');
  disposeState(a.state);
  disposeState(b2.state);
});

test('grids have the expected pixel size and a sidecar classify can read', async () => {
  const out = await tempDir('dcgan-grid-');
  const r = await train(run(out, { iterations: 4, train: tinyTrain(3, 4), input: await makeDcganFixture(24) }));
  const png = path.join(out, 'grid_000004.png');
  const meta = await sharp(png).metadata();
  // 4 columns of 8 px and 3 rows of 12 px with a 2 px gap around and between cells.
  assert.equal(meta.width, 4 * 8 + 5 * 2);
  assert.equal(meta.height, 3 * 12 + 4 * 2);
  const raw = JSON.parse(await fs.readFile(path.join(out, 'grid_000004.json'), 'utf8')) as Record<string, unknown>;
  for (const k of ['iteration', 'epoch', 'rows', 'cols', 'cellWidth', 'cellHeight', 'gap', 'losses', 'seed', 'z_dim'])
    assert.ok(k in raw, `sidecar has ${k}`);
  const sc = parseSidecar(raw);
  assert.deepEqual(sc.geometry, { rows: 3, cols: 4, cellWidth: 8, cellHeight: 12, gap: 2 });
  assert.equal(sc.iteration, 4);
  assert.equal(sc.epoch, 1, 'iterations 1-2 are epoch 0, 3-4 epoch 1 (24 posters, batch 12)');
  assert.ok(sc.losses && Number.isFinite(sc.losses.d) && Number.isFinite(sc.losses.g));
  assert.ok(typeof raw.diversity === 'number' && raw.diversity > 0, 'sidecar has the diversity of the 12 samples');
  disposeState(r.state);
});

test('a second run into the same output is refused unless --resume or --fresh', async () => {
  const out = await tempDir('dcgan-again-');
  disposeState((await train(run(out, { iterations: 1, sampleRate: 1 }))).state);
  await assert.rejects(train(run(out, { iterations: 1 })), /already holds a training run/);
  const again = await train(run(out, { iterations: 2, sampleRate: 1, fresh: true }));
  assert.equal(again.state.iteration, 2);
  disposeState(again.state);
  await assert.rejects(train(run(await tempDir('dcgan-none-'), { resume: true })), /no checkpoint/);
});

test('generate writes single posters, a grid and a diversity figure; conditional runs take --genre/--decade', async () => {
  const out = await tempDir('dcgan-cond-');
  const r = await train(run(out, { iterations: 2, conditional: true }));
  const cfg = r.state.net.config;
  assert.ok(cfg.condition && cfg.condition.genres.includes('Horror') && cfg.condition.decades.includes(1980));
  const sidecar = JSON.parse(await fs.readFile(path.join(out, 'grid_000002.json'), 'utf8')) as {
    conditional: { genres: string[] }[];
  };
  assert.equal(sidecar.conditional.length, 6);
  disposeState(r.state);
  const gen = await tempDir('dcgan-gen-');
  const g = await generate({
    checkpoint: out,
    output: gen,
    count: 5,
    cols: 3,
    seed: 2,
    genres: ['Horror'],
    decade: 1980,
    bn: 'moving',
  });
  assert.equal(g.files.length, 5);
  assert.equal(g.checkpoint, path.join(out, 'checkpoints', checkpointName(2)));
  const meta = await sharp(g.grid).metadata();
  assert.equal(meta.width, 3 * 8 + 4 * 2);
  assert.equal(meta.height, 2 * 12 + 3 * 2);
  assert.ok(g.diversity > 0);
  await assert.rejects(
    generate({
      checkpoint: out,
      output: gen,
      count: 1,
      cols: 1,
      seed: 2,
      genres: ['Musical'],
      decade: null,
      bn: 'moving',
    }),
    /--genre: Musical not known.*valid: /,
  );
  const s = await loadCheckpoint(g.checkpoint);
  assert.equal(s.iteration, 2);
  disposeState(s);
});

test('mean pairwise distance is 0 for identical samples and the L2 distance for two', () => {
  assert.equal(meanPairwiseDistance(new Float32Array([1, 2, 1, 2, 1, 2]), 3), 0);
  assert.equal(meanPairwiseDistance(new Float32Array([0, 0, 3, 4]), 2), 5);
});
