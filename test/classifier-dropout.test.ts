/**
 * The classifier's Dropout (engine/ops/dropout.ts): tfjs's layer with a faster mask. It must drop
 * the right share, scale what it keeps, follow its seed, pass gradients through the same mask,
 * do nothing at inference, and save as a plain Keras 'Dropout'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../engine/tf.js';
import { FastDropout, dropoutMask } from '../engine/ops/dropout.js';
import { pathCounts } from '../engine/kernels/util.js';

test('the mask drops the rate asked for and scales the rest by 1/keep', () => {
  for (const rate of [0.25, 0.5]) {
    const m = dropoutMask(200_000, rate, 7);
    let zeros = 0;
    for (const v of m) {
      if (v === 0) zeros++;
      else assert.equal(v, Math.fround(1 / Math.fround(1 - rate)));
    }
    assert.ok(Math.abs(zeros / m.length - rate) < 0.01, `rate ${rate}: dropped ${zeros / m.length}`);
  }
});

test('the same seed gives the same mask, another seed another', () => {
  const a = Array.from(dropoutMask(1000, 0.5, 3));
  assert.deepEqual(Array.from(dropoutMask(1000, 0.5, 3)), a);
  assert.notDeepEqual(Array.from(dropoutMask(1000, 0.5, 4)), a);
});

test('training applies the mask forward and backward; inference is the identity', () => {
  const layer = new FastDropout({ rate: 0.5, seed: 11 });
  const x = tf.ones([4, 50]);
  const y = layer.apply(x, { training: true }) as tf.Tensor;
  const want = dropoutMask(200, 0.5, 11);
  assert.deepEqual(Array.from(y.dataSync()), Array.from(want));
  const g = tf.grad((t: tf.Tensor) => (layer.apply(t, { training: true }) as tf.Tensor).sum())(x);
  assert.deepEqual(Array.from(g.dataSync()), Array.from(want), 'the gradient goes through the kept units, scaled');
  const z = layer.apply(x) as tf.Tensor;
  assert.ok(z.dataSync().every((v) => v === 1));
  tf.dispose([x, y, g, z]);
});

test('a model with it saves as a Keras Dropout and loads back', async () => {
  const input = tf.input({ shape: [3] });
  const out = new FastDropout({ rate: 0.3 }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const json = model.toJSON(undefined, false) as { config: { layers: { class_name: string }[] } };
  assert.ok(json.config.layers.some((l) => l.class_name === 'Dropout'));
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assert.ok(loaded.layers.some((l) => l instanceof FastDropout));
  model.dispose();
  loaded.dispose();
});

test('on the native backend the mask comes from C++ and equals the JS loop bit for bit', async () => {
  const { registerNativeBackend } = await import('../engine/native/backend.js');
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
  const previous = tf.getBackend();
  // Sizes below and above the two-thread split, negative and large seeds, extreme rates.
  const cases: [number, number, number][] = [
    [1, 0.5, 0],
    [1001, 0.5, -7],
    [70_001, 0.25, 2_147_483_000],
    [300_007, 0.999, 12_345],
    [65_537, 1e-6, -2_147_483_648],
  ];
  for (const [n, rate, seed] of cases) {
    await tf.setBackend('cpu');
    const js = Float32Array.from(dropoutMask(n, rate, seed));
    await tf.setBackend('native');
    const before = pathCounts.get('DropoutMask')?.fast ?? 0;
    const native = Float32Array.from(dropoutMask(n, rate, seed));
    assert.equal((pathCounts.get('DropoutMask')?.fast ?? 0) - before, 1, 'the C++ loop ran');
    let differ = 0;
    for (let i = 0; i < n; i++) if (!Object.is(native[i], js[i])) differ++;
    assert.equal(differ, 0, `n ${n}, rate ${rate}, seed ${seed}: ${differ} values differ`);
  }
  await tf.setBackend(previous);
});
