/**
 * The wasm backend's convolution gradients (engine/wasm) against the tfjs cpu backend, and one
 * tiny tf.layers training step (conv2d, conv2dTranspose, batch norm, leaky ReLU, pooling, dense)
 * that must run on wasm and match the cpu backend's updated weights.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '../engine/tf.js';
import { registerWasmTrainingKernels } from '../engine/wasm/register.js';
import { createRng } from '../src/core/random.js';
import { on } from './helpers/on-backend.js';

type Pad = 'same' | 'valid';
const rng = createRng(11, 'wasm-kernels-test');

function randArray(shape: number[]): Float32Array {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = rng.next() * 2 - 1;
  return v;
}

function assertClose(
  got: { values: Float32Array; shape: number[] },
  want: { values: Float32Array; shape: number[] },
  what: string,
  rel = 1e-4,
): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 1;
  for (const v of want.values) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.values.length; i++) {
    const d = Math.abs(got.values[i]! - want.values[i]!);
    if (!(d <= worst)) worst = d;
  }
  assert.ok(worst <= rel * scale, `${what}: max |diff| ${worst} > ${rel} x ${scale}`);
}

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: Pad;
}
const CASES: Case[] = [
  { n: 1, h: 7, w: 7, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 9, w: 6, ci: 3, co: 8, k: 3, s: 1, pad: 'valid' },
  { n: 1, h: 12, w: 8, ci: 3, co: 64, k: 5, s: 2, pad: 'same' },
  { n: 3, h: 11, w: 7, ci: 64, co: 5, k: 5, s: 2, pad: 'same' },
  { n: 2, h: 13, w: 9, ci: 4, co: 6, k: 3, s: 2, pad: 'valid' },
  { n: 1, h: 15, w: 10, ci: 64, co: 3, k: 5, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 12, ci: 5, co: 7, k: 4, s: 2, pad: 'same' },
  // phases that meet no kernel tap (k < s) and strides of 3
  { n: 2, h: 5, w: 6, ci: 3, co: 2, k: 1, s: 2, pad: 'valid' },
  { n: 1, h: 10, w: 7, ci: 4, co: 3, k: 2, s: 3, pad: 'same' },
];

function outSize(v: number, k: number, s: number, pad: Pad): number {
  return pad === 'same' ? Math.ceil(v / s) : Math.ceil((v - k + 1) / s);
}

const runKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor =>
  tf.engine().runKernel(name, inputs as never, attrs as never) as tf.Tensor;

describe('wasm convolution gradients', () => {
  before(async () => {
    registerWasmTrainingKernels();
    assert.ok(await tf.setBackend('wasm'), 'the wasm backend starts');
  });

  for (const c of CASES) {
    const label = `${c.n}x${c.h}x${c.w}x${c.ci} k${c.k} s${c.s} ${c.pad} -> ${c.co}`;
    test(`Conv2DBackpropFilter ${label}`, async () => {
      const oh = outSize(c.h, c.k, c.s, c.pad),
        ow = outSize(c.w, c.k, c.s, c.pad);
      const x = randArray([c.n, c.h, c.w, c.ci]),
        dy = randArray([c.n, oh, ow, c.co]);
      const attrs = {
        strides: [c.s, c.s],
        pad: c.pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: [c.k, c.k, c.ci, c.co],
      };
      const fn = () =>
        runKernel(
          'Conv2DBackpropFilter',
          { x: tf.tensor4d(x, [c.n, c.h, c.w, c.ci]), dy: tf.tensor4d(dy, [c.n, oh, ow, c.co]) },
          attrs,
        );
      assertClose(await on('wasm', fn), await on('cpu', fn), 'dW');
      await tf.setBackend('wasm');
    });
    test(`Conv2DBackpropInput ${label}`, async () => {
      const oh = outSize(c.h, c.k, c.s, c.pad),
        ow = outSize(c.w, c.k, c.s, c.pad);
      const w = randArray([c.k, c.k, c.ci, c.co]),
        dy = randArray([c.n, oh, ow, c.co]);
      const attrs = {
        strides: [c.s, c.s],
        pad: c.pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        inputShape: [c.n, c.h, c.w, c.ci],
      };
      const fn = () =>
        runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor4d(dy, [c.n, oh, ow, c.co]), filter: tf.tensor4d(w, [c.k, c.k, c.ci, c.co]) },
          attrs,
        );
      assertClose(await on('wasm', fn), await on('cpu', fn), 'dx');
      await tf.setBackend('wasm');
    });
  }

  // tfjs-core's conv2d_transpose_test asks for an output smaller than its input's convolution,
  // so dy is larger than the geometry says; the cpu kernels read its top-left corner.
  test('convolution gradients with a dy larger than the geometry (conv2dTranspose 8x8x8 into 4x4x8, f=8, s=1, same)', async () => {
    const dy = randArray([1, 8, 8, 8]),
      w = randArray([8, 8, 8, 8]),
      x = randArray([1, 4, 4, 8]);
    const input = () =>
      tf.conv2dTranspose(tf.tensor4d(dy, [1, 8, 8, 8]), tf.tensor4d(w, [8, 8, 8, 8]), [1, 4, 4, 8], 1, 'same');
    assertClose(await on('wasm', input), await on('cpu', input), 'dx');
    const attrs = {
      strides: [1, 1],
      pad: 'same',
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape: [8, 8, 8, 8],
    };
    const filter = () =>
      runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, [1, 4, 4, 8]), dy: tf.tensor4d(dy, [1, 8, 8, 8]) }, attrs);
    assertClose(await on('wasm', filter), await on('cpu', filter), 'dW');
  });

  for (const [pad, s] of [
    ['same', 2],
    ['valid', 1],
    ['same', 1],
  ] as const) {
    test(`MaxPoolGrad 2x2 stride ${s} ${pad} (the wasm package's own routes gradients wrongly)`, async () => {
      const x = randArray([2, 5, 7, 3]);
      const fn = () =>
        tf.grad((a: tf.Tensor) => {
          const p = tf.maxPool(a as tf.Tensor4D, 2, s, pad);
          return tf.sum(tf.mul(p, tf.range(0, p.size).reshape(p.shape)));
        })(tf.tensor4d(x, [2, 5, 7, 3]));
      assertClose(await on('wasm', fn), await on('cpu', fn), 'dx');
    });
  }

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    test(`BatchMatMul transposeA=${ta} transposeB=${tb} (explicit transposes, then XNNPACK)`, async () => {
      const a = randArray([2, 7, 5]),
        b = randArray([2, 5, 6]);
      const fn = () =>
        tf.matMul(
          ta ? tf.tensor3d(a, [2, 7, 5]).transpose([0, 2, 1]).clone() : tf.tensor3d(a, [2, 7, 5]),
          tb ? tf.tensor3d(b, [2, 5, 6]).transpose([0, 2, 1]).clone() : tf.tensor3d(b, [2, 5, 6]),
          ta,
          tb,
        );
      const want = await on('cpu', () => tf.matMul(tf.tensor3d(a, [2, 7, 5]), tf.tensor3d(b, [2, 5, 6])));
      assertClose(await on('wasm', fn), want, 'a b');
    });
  }
  test('BatchMatMul a b^T with b much larger than a (computed as (b a^T)^T)', async () => {
    const a = randArray([1, 3, 40]),
      b = randArray([1, 50, 40]);
    const fn = () => tf.matMul(tf.tensor3d(a, [1, 3, 40]), tf.tensor3d(b, [1, 50, 40]), false, true);
    assertClose(await on('wasm', fn), await on('cpu', fn), 'a b^T');
  });

  test('conv2d gradients through tf.grads match the cpu backend (the path layers use)', async () => {
    const x = randArray([2, 10, 6, 3]),
      w = randArray([5, 5, 3, 8]);
    const grads = (): tf.Tensor => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
      );
      const [dx, dw] = g([tf.tensor4d(x, [2, 10, 6, 3]), tf.tensor4d(w, [5, 5, 3, 8])]);
      return tf.concat([dx!.flatten(), dw!.flatten()]);
    };
    assertClose(await on('wasm', grads), await on('cpu', grads), 'grads', 2e-4);
  });
});

describe('a tiny training step on wasm', () => {
  /** A miniature DCGAN-style generator + discriminator-style classifier in one model. */
  function build(): tf.LayersModel {
    const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [6], units: 2 * 3 * 8, kernelInitializer: init(1) }));
    m.add(tf.layers.reshape({ targetShape: [2, 3, 8] }));
    m.add(tf.layers.batchNormalization({}));
    m.add(tf.layers.reLU());
    m.add(
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: init(2) }),
    );
    m.add(tf.layers.activation({ activation: 'tanh' }));
    m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 1, padding: 'same', kernelInitializer: init(3) }));
    m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
    m.add(tf.layers.conv2d({ filters: 8, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: init(4) }));
    m.add(tf.layers.batchNormalization({}));
    m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
    m.add(tf.layers.dropout({ rate: 0 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: init(5) }));
    return m;
  }

  // SGD, not Adam: Adam turns float noise in near-zero gradients into whole lr-sized steps.
  test('sgd + binary cross-entropy step: same weights after two steps as on cpu', async () => {
    const x = randArray([4, 6]);
    const y = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const train = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      const m = build();
      m.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
      const xs = tf.tensor2d(x, [4, 6]),
        ys = tf.tensor2d(y, [4, 3]);
      await m.trainOnBatch(xs, ys);
      await m.trainOnBatch(xs, ys);
      const flat = tf.concat(m.getWeights().map((w) => w.flatten()));
      const out = flat.dataSync() as Float32Array;
      tf.dispose([xs, ys, flat]);
      m.dispose();
      return out;
    };
    const cpu = await train('cpu');
    const wasm = await train('wasm');
    assertClose({ values: wasm, shape: [wasm.length] }, { values: cpu, shape: [cpu.length] }, 'weights', 1e-3);
  });
});
