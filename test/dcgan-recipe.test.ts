import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { createRng } from '../src/core/random.js';
import { initBackend } from '../engine/backend.js';
import { tf } from '../engine/index.js';
import { diffAugment, mirrorHalf } from '../dcgan/augment.js';
import { checkpointName, loadCheckpoint, saveCheckpoint } from '../dcgan/checkpoint.js';
import { fixedLatent } from '../dcgan/latent.js';
import { emaDecayAt, parseAugments, RECIPE_KERNEL, recipeByName, type Recipe } from '../dcgan/recipe.js';
import { Command } from 'commander';
import { addFlags, longOptionNames, normalizeArgv, readFlags } from '../src/core/flags.js';
import { modelFromFlags, trainFlags } from '../cli/commands/dcgan-train-flags.js';
import { createState, disposeState, namedTensors } from '../dcgan/state.js';
import { trainIteration } from '../dcgan/step.js';
import { tinyConfig, tinyTrain } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

before(async () => {
  await initBackend('cpu', true);
});

const images = (n: number, h: number, w: number, seed: number): tf.Tensor4D => {
  const rng = createRng(seed, 'test-images');
  return tf.tensor4d(
    Float32Array.from({ length: n * h * w * 3 }, () => rng.next() * 2 - 1),
    [n, h, w, 3],
  );
};

const dot = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.sum(tf.mul(a, b)).dataSync()[0]!);

test('translation moves whole images with zero fill, and its gradient is the exact adjoint', () => {
  const x = images(4, 12, 8, 1);
  const w = images(4, 12, 8, 2);
  const tx = diffAugment(x, ['translation'], createRng(3, 'a'));
  // Each shifted image keeps its values, only moved: every output value is 0 or one of the input's.
  const xs = new Set(x.dataSync());
  assert.ok([...tx.dataSync()].every((v) => v === 0 || xs.has(v)));
  assert.ok(
    tx.dataSync().some((v, i) => v !== x.dataSync()[i]),
    'some image moved',
  );
  // <T x, w> = <x, T^T w>; the gradient of <T x, w> with respect to x must be T^T w.
  const g = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(diffAugment(t as tf.Tensor4D, ['translation'], createRng(3, 'a')), w)),
  )(x);
  assert.ok(Math.abs(dot(tx, w) - dot(x, g)) < 1e-3, `${dot(tx, w)} vs ${dot(x, g)}`);
});

test('cutout zeroes at most half the height times half the width per image, and some of it', () => {
  const x = tf.ones([6, 12, 8, 3]) as tf.Tensor4D;
  const y = diffAugment(x, ['cutout'], createRng(4, 'c')).dataSync();
  for (let i = 0; i < 6; i++) {
    const zeros = y.subarray(i * 12 * 8 * 3, (i + 1) * 12 * 8 * 3).filter((v) => v === 0).length / 3;
    assert.ok(zeros > 0 && zeros <= 6 * 4, `image ${i}: ${zeros} zeroed pixels`);
  }
});

test('colour changes images differentiably, the same way for the same stream', () => {
  const x = images(3, 6, 4, 5);
  const a = diffAugment(x, ['color'], createRng(6, 'c')).dataSync();
  const b = diffAugment(x, ['color'], createRng(6, 'c')).dataSync();
  assert.deepEqual(a, b);
  assert.ok(a.some((v, i) => Math.abs(v - x.dataSync()[i]!) > 1e-3));
  const g = tf.grad((t: tf.Tensor) => tf.sum(diffAugment(t as tf.Tensor4D, ['color'], createRng(6, 'c'))))(x);
  assert.ok(g.dataSync().every(Number.isFinite) && g.dataSync().some((v) => v !== 0));
});

test('mirroring flips some posters left-right and the same stream flips them back', () => {
  const px = images(8, 5, 4, 7).dataSync() as Float32Array;
  const copy = px.slice();
  mirrorHalf(px, 8, 5, 4, createRng(8, 'm'));
  assert.notDeepEqual(px, copy);
  // Row 0 of a flipped image reads backwards.
  const per = 5 * 4 * 3;
  const flipped = Array.from({ length: 8 }, (_, i) => px[i * per] !== copy[i * per]).filter(Boolean).length;
  assert.ok(flipped > 0 && flipped < 8, `${flipped} of 8 flipped`);
  mirrorHalf(px, 8, 5, 4, createRng(8, 'm'));
  assert.deepEqual(px, copy);
});

test('--diff_augment parsing and the EMA warm-up', () => {
  assert.deepEqual(parseAugments(['none']), []);
  assert.deepEqual(parseAugments(['cutout', 'color', 'cutout']), ['cutout', 'color']);
  assert.throws(
    () => parseAugments(['blur']),
    /--diff_augment: unknown blur; valid: none or a list of color, translation, cutout/,
  );
  assert.equal(emaDecayAt(0.999, 1), 2 / 11);
  assert.equal(emaDecayAt(0.999, 1e6), 0.999);
});

async function oneIteration(recipe: Recipe, dir: string): Promise<string> {
  const s = createState(tinyConfig(), 3, tinyTrain(), fixedLatent(3, 6, 8), null, 12, recipe);
  tf.tidy(() => {
    trainIteration(s, images(6, 12, 8, 9), tf.tensor2d(fixedLatent(4, 6, 8), [6, 8]), null, 1);
  });
  await saveCheckpoint(s, dir, 2);
  disposeState(s);
  return path.join(dir, checkpointName(1));
}

test('seed checkpoints keep the old format; small-data ones carry the recipe and the EMA of G', async () => {
  const seedCk = await oneIteration(recipeByName('seed'), await tempDir('recipe-seed-'));
  const seedJson = JSON.parse(await fs.readFile(path.join(seedCk, 'state.json'), 'utf8')) as Record<string, unknown>;
  assert.equal('recipe' in seedJson, false);
  assert.ok(!(seedJson.tensors as { name: string }[]).some((t) => t.name.startsWith('ema_g/')));
  const seed = await loadCheckpoint(seedCk);
  assert.deepEqual(seed.recipe, recipeByName('seed'));
  assert.equal(seed.emaG, null);
  disposeState(seed);

  const smallCk = await oneIteration(recipeByName('small-data'), await tempDir('recipe-small-'));
  const small = await loadCheckpoint(smallCk);
  assert.deepEqual(small.recipe, recipeByName('small-data'));
  const named = new Map(namedTensors(small));
  const w = 'g_h1/w';
  // After one update with the warm-up decay 2/11, the EMA sits between G's start and G now.
  assert.ok(named.has(`ema_g/${w}`));
  assert.notDeepEqual(named.get(`ema_g/${w}`)!.dataSync(), named.get(`g/${w}`)!.dataSync());
  disposeState(small);
});

test('the kernel size follows the recipe unless --k_w/--k_h are given, in either spelling', () => {
  const model = (args: string[]): { kW: number; kH: number; explicit: string[] } => {
    const cmd = addFlags(new Command('train').exitOverride(), trainFlags);
    cmd.parse(normalizeArgv(args, longOptionNames(cmd)), { from: 'user' });
    const { config, explicit } = modelFromFlags(cmd, readFlags(cmd, trainFlags), { width: 64, height: 96 });
    return { kW: config.kW, kH: config.kH, explicit: Object.keys(explicit).sort() };
  };
  assert.deepEqual(model([]), { kW: RECIPE_KERNEL['small-data'], kH: RECIPE_KERNEL['small-data'], explicit: [] });
  assert.equal(RECIPE_KERNEL['small-data'], 4);
  assert.deepEqual(model(['--recipe', 'seed']), { kW: 5, kH: 5, explicit: [] });
  // Given kernels win over the recipe's and count as explicit (a --resume checks them against the checkpoint).
  assert.deepEqual(model(['--recipe', 'seed', '--k_w', '3', '--k-h', '7']), { kW: 3, kH: 7, explicit: ['kH', 'kW'] });
  assert.deepEqual(model(['--k_w', '5']), { kW: 5, kH: 4, explicit: ['kW'] });
});
