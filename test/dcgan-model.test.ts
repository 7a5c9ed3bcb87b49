import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../engine/backend.js';
import { tf } from '../engine/tf.js';
import { layerSizes, type ModelConfig } from '../dcgan/config.js';
import { createNetworks, discriminator, generator, networkSize } from '../dcgan/model.js';
import { createState, disposeState } from '../dcgan/state.js';
import { discriminatorStep } from '../dcgan/step.js';
import { batchNormTrain } from '../engine/kernels/batchnorm-train.js';
import { tinyConfig, tinyTrain } from './helpers/dcgan-fixture.js';

before(async () => {
  await initBackend('cpu', true);
});

function shapes(config: ModelConfig, batch: number): { g: number[]; d: number[] } {
  const n = createNetworks(config, 1);
  return tf.tidy(() => {
    const img = generator(n, tf.randomUniform([batch, config.zDim], -1, 1) as tf.Tensor2D, null, 'batch');
    const logit = discriminator(n, img, null);
    return { g: img.shape, d: logit.shape };
  });
}

test('G makes square and 2:3 images, D one logit each', () => {
  assert.deepEqual(shapes(tinyConfig(8, 8), 3), { g: [3, 8, 8, 3], d: [3, 1] });
  assert.deepEqual(shapes(tinyConfig(8, 12), 2), { g: [2, 12, 8, 3], d: [2, 1] });
  // The seed's 5 layers on a 64x96 poster: G starts from a 4x6 map.
  const poster = { ...tinyConfig(64, 96), layersG: 5, layersD: 5, gf: 2, df: 2 };
  assert.deepEqual(shapes(poster, 1), { g: [1, 96, 64, 3], d: [1, 1] });
});

test('generated pixels are in the tanh range', () => {
  const n = createNetworks(tinyConfig(), 2);
  const v = tf.tidy(() => generator(n, tf.randomUniform([4, 8], -1, 1) as tf.Tensor2D, null, 'batch').dataSync());
  assert.ok(v.every((x) => x >= -1 && x <= 1));
  assert.ok(new Set(v).size > 10, 'generator output is not constant');
});

test('any size trains: each layer rounds up as the fork does, G makes the exact size, D takes it', () => {
  assert.deepEqual(layerSizes(161, 5), [161, 81, 41, 21, 11]);
  assert.deepEqual(layerSizes(109, 5), [109, 55, 28, 14, 7]);
  // The fork's default training size at ratio 60 (109x161), and odd sizes on 3 layers.
  const poster = { ...tinyConfig(109, 161), layersG: 5, layersD: 5, gf: 2, df: 2 };
  assert.deepEqual(shapes(poster, 1), { g: [1, 161, 109, 3], d: [1, 1] });
  assert.deepEqual(shapes(tinyConfig(9, 13), 2), { g: [2, 13, 9, 3], d: [2, 1] });
  const n = createNetworks(poster, 1);
  assert.deepEqual(n.g.get('g_h0_lin/w')!.shape, [8, 16 * 11 * 7]);
  assert.deepEqual(n.d.get('d_lin/w')!.shape, [16 * 11 * 7, 1]);
});

test('powers of two build the very networks they always did (checkpoints keep loading)', () => {
  const c = { ...tinyConfig(64, 96), layersG: 5, layersD: 5 };
  const n = createNetworks(c, 1);
  // 64x96 over 4 halvings: a 4x6 map, exactly as width / 2^(L-1) gave before.
  assert.deepEqual(n.g.get('g_h0_lin/w')!.shape, [8, c.gf * 8 * 4 * 6]);
  assert.deepEqual(n.d.get('d_lin/w')!.shape, [c.df * 8 * 4 * 6, 1]);
});

test('one discriminator step lowers its loss on a fixed batch', () => {
  const s = createState(tinyConfig(), 3, tinyTrain(), new Float32Array(6 * 8), null, 12);
  const real = tf.randomUniform([6, 12, 8, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const z = tf.randomUniform([6, 8], -1, 1, 'float32', 8) as tf.Tensor2D;
  const loss = (): number =>
    tf.tidy(() => {
      const fake = generator(s.net, z, null, 'batch');
      const l = tf.add(
        tf.mean(tf.softplus(tf.neg(discriminator(s.net, real, null)))),
        tf.mean(tf.softplus(discriminator(s.net, fake, null))),
      );
      return l.dataSync()[0]!;
    });
  const before = loss();
  const reported = discriminatorStep(s, real, z, null);
  const after = loss();
  assert.ok(
    Math.abs(reported - before) < 1e-5,
    `the step reports the loss before its update (${reported} vs ${before})`,
  );
  assert.ok(after < before, `D loss ${before} -> ${after}`);
  disposeState(s);
});

test('fused batch norm matches tfjs batch norm, value and gradients', () => {
  const x = tf.randomNormal([3, 4, 5, 6], 0.5, 2, 'float32', 3);
  const g = tf.randomNormal([6], 1, 0.3, 'float32', 4);
  const b = tf.randomNormal([6], 0, 1, 'float32', 5);
  const w = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 6);
  const ref = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Scalar => {
    const { mean, variance } = tf.moments(xx, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, bb, gg, 1e-5), w));
  };
  const mine = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Scalar =>
    tf.sum(tf.mul(batchNormTrain(xx, gg, bb, 1e-5).y, w));
  assert.ok(Math.abs(ref(x, g, b).dataSync()[0]! - mine(x, g, b).dataSync()[0]!) < 1e-4);
  const gr = tf.grads(ref)([x, g, b]);
  const gm = tf.grads(mine)([x, g, b]);
  gr.forEach((t, i) => {
    const err = tf.max(tf.abs(tf.sub(t, gm[i]!))).dataSync()[0]!;
    assert.ok(err < 1e-4, `gradient ${i} differs by ${err}`);
  });
});

test('networkSize counts exactly what createNetworks allocates, G apart (the checkpoint check relies on it, EMA of G included)', () => {
  const configs: ModelConfig[] = [
    tinyConfig(),
    { ...tinyConfig(16, 24), batchNormG: false, batchNormD: false },
    { ...tinyConfig(64, 96), layersG: 5, layersD: 4, gf: 3, df: 5, kH: 5, kW: 3 },
    { ...tinyConfig(), condition: { genres: ['Drama', 'Horror'], decades: [1980, 1990, 2000] } },
    // Sides no power of two divides: each layer rounds up.
    { ...tinyConfig(20, 30), layersG: 4, layersD: 4 },
  ];
  for (const c of configs) {
    const n = createNetworks(c, 1);
    const all = [...n.g.values(), ...n.d.values()];
    const expect = {
      total: all.reduce((a, v) => a + v.size, 0),
      trainable: all.filter((v) => v.trainable).reduce((a, v) => a + v.size, 0),
      generator: [...n.g.values()].reduce((a, v) => a + v.size, 0),
    };
    assert.deepEqual(networkSize(c), expect, JSON.stringify(c));
    all.forEach((v) => v.dispose());
  }
});
