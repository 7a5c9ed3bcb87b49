/**
 * Conv + bias + ReLU as one op (engine/kernels/conv-relu.ts, engine/ops/conv2d.ts): the fused
 * ReLU-gradient + bias-sum kernel against its JS twin and the cpu backend (special values, odd
 * channel counts, sizes that split over threads), FastConv2D's output and gradients against
 * tfjs's own Conv2D + ReLU on the cpu backend on every SIMD path, and a classifier saved in the
 * layout used before FastConv2D (linear conv + ReLU layer) loading and predicting as it did.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../engine/tf.js';
import { nativeAddon, registerNativeBackend } from '../engine/native/backend.js';
import { nativeCounts } from '../engine/native/elementwise.js';
import { CONV_RELU, RELU_GRAD_BIAS, convRelu } from '../engine/kernels/conv-relu.js';
import { pathCounts } from '../engine/kernels/util.js';
import { FastConv2D } from '../engine/ops/conv2d.js';
import { registerFastCpuBackend } from '../engine/kernels/fast-cpu-backend.js';
import { FastDropout } from '../engine/ops/dropout.js';
import { buildClassifier } from '../classifier/models.js';
import { loadLayersModel, saveLayersModel } from '../src/artifacts/model-io.js';
import { createRng } from '../src/core/random.js';
import { at } from './helpers/at.js';
import { tempDirSync } from './helpers/temp-dir.js';

const rng = createRng(17, 'native-conv-relu-test');
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 3e38, -3e38];

function values(n: number, special = false): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() * 2 - 1;
  if (special) for (let i = 3; i < n; i += 11) v[i] = at(SPECIAL, ((i / 11) % SPECIAL.length) | 0);
  return v;
}

/** Element-wise: NaN where want is NaN, equal infinities, else within rtol of the largest |want|. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!,
      b = want[i]!;
    if (!Number.isFinite(b))
      assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}[${i}]: ${a} vs ${b}`);
    else assert.ok(Math.abs(a - b) <= rtol * scale, `${what}[${i}]: ${a} vs ${b}`);
  }
}

async function use(backend: string): Promise<void> {
  await tf.setBackend(backend);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

before(async () => {
  registerFastCpuBackend('fast-cpu-test');
  await use('cpu');
});

test('the native addon is built and loads', () => {
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
});

/** The fused kernel's two outputs on the active backend (alpha > 0: the leaky ReLU's). */
function reluGradBias(dy: Float32Array, y: Float32Array, shape: number[], alpha = 0): [Float32Array, Float32Array] {
  const outs = tf
    .engine()
    .runKernel(RELU_GRAD_BIAS, { dy: tf.tensor(dy, shape), y: tf.tensor(y, shape) }, { alpha }) as tf.Tensor[];
  const r: [Float32Array, Float32Array] = [
    Float32Array.from(outs[0]!.dataSync() as Float32Array),
    Float32Array.from(outs[1]!.dataSync() as Float32Array),
  ];
  tf.dispose(outs);
  return r;
}

/** The JS kernel (fast-cpu) and the C++ one (native) against want = [gradient, bias gradient]. */
async function checkBothKernels(
  dy: Float32Array,
  y: Float32Array,
  shape: number[],
  alpha: number,
  want: readonly Float32Array[],
): Promise<void> {
  await use('fast-cpu-test');
  const js = reluGradBias(dy, y, shape, alpha);
  await use('native');
  const before = nativeCounts.get(RELU_GRAD_BIAS) ?? 0;
  const cpp = reluGradBias(dy, y, shape, alpha);
  assert.equal((nativeCounts.get(RELU_GRAD_BIAS) ?? 0) - before, 1, 'the C++ kernel ran');
  assert.equal(at(cpp, 1).length, at(shape, shape.length - 1));
  for (const [name, got] of [
    ['JS', js],
    ['C++', cpp],
  ] as const) {
    assertClose(got[0], at(want, 0), `${name} gradient`, 0);
    assertClose(got[1], at(want, 1), `${name} bias gradient`, 1e-5);
  }
}

// Channels below, at and above the 4-wide vector and the 64-value row; row counts that leave
// remainder rows; sizes above the threshold where the second thread joins.
for (const shape of [
  [1, 1],
  [5, 3],
  [7, 5, 7],
  [2, 9, 33],
  [3, 11, 64],
  [4, 13, 65],
  [2, 301, 7, 32],
  [1, 257, 130, 64],
]) {
  test(`${RELU_GRAD_BIAS} [${shape.join(', ')}]: C++ = JS kernel = relu grad + sum on the cpu backend`, async () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const dy = values(n, true);
    const y = values(n, true).map((v) => (v < 0 ? 0 : v)); // a ReLU's output: >= 0 or NaN
    await use('cpu');
    const want = tf.tidy(() => {
      const g = tf.where(tf.greater(tf.tensor(y, shape), 0), tf.tensor(dy, shape), tf.mul(tf.tensor(dy, shape), 0));
      // NaN y passes on, as the ReLU gradient does.
      const gy = tf.where(tf.isNaN(tf.tensor(y, shape)), tf.tensor(y, shape), g);
      const sum = tf.sum(gy, [...shape.keys()].slice(0, -1));
      return [Float32Array.from(gy.dataSync() as Float32Array), Float32Array.from(sum.dataSync() as Float32Array)];
    });
    await checkBothKernels(dy, y, shape, 0, want);
  });
}

// The leaky ReLU's (the DCGAN discriminator's first layer): dy * (y > 0 ? 1 : alpha), as tfjs's
// LeakyRelu gradient, and its column sums; the same shapes.
for (const shape of [
  [5, 3],
  [2, 9, 33],
  [4, 13, 65],
  [1, 257, 130, 64],
]) {
  test(`${RELU_GRAD_BIAS} leaky [${shape.join(', ')}]: C++ = JS kernel = leakyRelu grad + sum on the cpu backend`, async () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const alpha = 0.2;
    const dy = values(n, true);
    const x = values(n, true);
    await use('cpu');
    // y = leakyRelu(x) and the gradient tfjs takes through it, from x.
    const ts = tf.tidy(() => {
      const xt = tf.tensor(x, shape);
      const g = tf.grad((t: tf.Tensor) => tf.mul(tf.leakyRelu(t, alpha), tf.tensor(dy, shape)).sum())(xt);
      return [tf.leakyRelu(xt, alpha), g, tf.sum(g, [...shape.keys()].slice(0, -1))];
    });
    const [y, ...want] = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    tf.dispose(ts);
    await checkBothKernels(dy, y, shape, alpha, want);
  });
}

test(`${RELU_GRAD_BIAS}: a negative or NaN alpha is refused`, async () => {
  await use('native');
  for (const alpha of [-0.1, NaN])
    assert.throws(() => reluGradBias(values(6), values(6), [2, 3], alpha), /alpha must be >= 0/);
});

interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  s: number;
  pad: 'same' | 'valid';
}
const CASES: Case[] = [
  { x: [2, 7, 5, 3], k: 3, co: 5, s: 1, pad: 'same' },
  { x: [3, 9, 6, 4], k: 3, co: 32, s: 1, pad: 'valid' },
  { x: [1, 11, 8, 7], k: 2, co: 9, s: 2, pad: 'same' },
  { x: [2, 12, 13, 32], k: 3, co: 64, s: 1, pad: 'valid' },
];

/** Output, loss gradients for x, kernel and bias of one conv layer applied in training mode. */
function convRun(layer: tf.layers.Layer, x: tf.Tensor, r: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const weights = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const f = (xi: tf.Tensor) => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, r)) as tf.Scalar,
        weights,
      );
      return [value, ...weights.map((w) => (grads as Record<string, tf.Tensor>)[w.name]!)];
    };
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, r)))(x);
    const [, dk, db] = f(x);
    return [y, dx, dk!, db!].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

const SIMD_PATHS = ['avx512', 'avx2', 'portable'] as const;
const SUPPORTED: readonly string[] = nativeAddon()?.info().supported ?? [];

for (const simd of SIMD_PATHS) {
  if (!SUPPORTED.includes(simd)) {
    test(`[${simd}] NOT TESTED: this CPU lacks ${simd} (it runs ${SUPPORTED.join(', ')})`, (t) => {
      t.diagnostic(`FastConv2D was not run on the ${simd} kernels on this machine`);
    });
    continue;
  }
  test(`[${simd}] FastConv2D with ReLU: output and x/kernel/bias gradients as tfjs's Conv2D on the cpu backend`, async () => {
    const addon = nativeAddon()!;
    const previous = addon.info().simd;
    addon.setSimd(simd);
    try {
      for (const c of CASES) {
        const what = `[${c.x.join(', ')}] k${c.k} co${c.co} s${c.s} ${c.pad}`;
        const xv = values(c.x.reduce((a, b) => a * b, 1));
        const args = { filters: c.co, kernelSize: c.k, strides: c.s, padding: c.pad, activation: 'relu' as const };
        await use('cpu');
        const stock = tf.layers.conv2d(args);
        stock.build(c.x);
        const w = stock.getWeights().map((t) => tf.randomNormal(t.shape, 0, 0.3, 'float32', rng.int(1e6)));
        stock.setWeights(w);
        const x = tf.tensor(xv, c.x);
        const r = tf.randomNormal(stock.computeOutputShape(c.x) as number[], 0, 1, 'float32', rng.int(1e6));
        const want = convRun(stock, x, r);
        const wv = w.map((t) => ({ v: Float32Array.from(t.dataSync() as Float32Array), s: t.shape }));
        const rv = { v: Float32Array.from(r.dataSync() as Float32Array), s: r.shape };
        tf.dispose([x, r, ...w, ...stock.getWeights()]);

        await use('native');
        const fast = new FastConv2D(args);
        fast.build(c.x);
        fast.setWeights(wv.map((t) => tf.tensor(t.v, t.s)));
        const before = pathCounts.get(CONV_RELU)?.fast ?? 0;
        const got = convRun(fast, tf.tensor(xv, c.x), tf.tensor(rv.v, rv.s));
        assert.ok((pathCounts.get(CONV_RELU)?.fast ?? 0) > before, `${what}: the fused op ran`);
        ['output', 'dx', 'dkernel', 'dbias'].forEach((name, i) =>
          assertClose(at(got, i), at(want, i), `${what} ${name}`, 2e-5),
        );
        tf.dispose(fast.getWeights());
      }
    } finally {
      addon.setSimd(previous);
    }
  });
}

/** leakyRelu(conv2d(x, w) + b, 0.2) and the gradients of sum(y * r) for x, w and b; fused: through convRelu. */
function leakyRun(
  fused: boolean,
  xv: Float32Array,
  xs: number[],
  wv: Float32Array,
  ws: number[],
  bv: Float32Array,
  rv: Float32Array,
  s: number,
): Float32Array[] {
  return tf.tidy(() => {
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      fused
        ? convRelu(x, w, b, [s, s], 'same', 0.2)
        : tf.leakyRelu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same'), b), 0.2);
    const [x, w, b] = [tf.tensor(xv, xs), tf.tensor(wv, ws), tf.tensor(bv, [at(ws, 3)])];
    const y = f(x, w, b);
    const r = tf.tensor(rv, y.shape);
    const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), r)))([
      x,
      w,
      b,
    ]);
    return [y, ...grads].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

for (const simd of SIMD_PATHS) {
  if (!SUPPORTED.includes(simd)) continue; // reported by the FastConv2D test's NOT TESTED line
  test(`[${simd}] conv + bias + leaky ReLU as one op (the DCGAN discriminator's first layer): output and x/w/b gradients as the ops one after the other on the cpu backend`, async () => {
    const addon = nativeAddon()!;
    const previous = addon.info().simd;
    addon.setSimd(simd);
    try {
      for (const [xs, k, co, s] of [
        [[2, 12, 10, 3], 5, 8, 2],
        [[3, 9, 7, 5], 3, 16, 1],
      ] as const) {
        const what = `[${xs.join(', ')}] k${k} co${co} s${s}`;
        const ws = [k, k, at(xs, 3), co];
        const xv = values(xs.reduce((a, b) => a * b, 1));
        const wv = values(ws.reduce((a, b) => a * b, 1));
        const bv = values(co);
        const rv = values(xs[0] * Math.ceil(xs[1] / s) * Math.ceil(xs[2] / s) * co);
        await use('cpu');
        const want = leakyRun(false, xv, [...xs], wv, ws, bv, rv, s);
        await use('native');
        const before = pathCounts.get(CONV_RELU)?.fast ?? 0;
        const got = leakyRun(true, xv, [...xs], wv, ws, bv, rv, s);
        assert.ok((pathCounts.get(CONV_RELU)?.fast ?? 0) > before, `${what}: the fused op ran`);
        ['output', 'dx', 'dw', 'db'].forEach((name, i) =>
          assertClose(at(got, i), at(want, i), `${what} ${name}`, 2e-5),
        );
      }
    } finally {
      addon.setSimd(previous);
    }
  });
}

test('FastConv2D computes no input gradient that nothing asked for (an image input)', async () => {
  await use('native');
  const layer = new FastConv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
  const x = tf.tensor(values(2 * 6 * 5 * 3), [2, 6, 5, 3]);
  layer.build(x.shape);
  // Count the native backend's input-gradient kernel calls through a wrapper registered over it.
  const config = tf.getKernel('Conv2DBackpropInput', 'native')!;
  let calls = 0;
  tf.unregisterKernel('Conv2DBackpropInput', 'native');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      calls++;
      return config.kernelFunc(args);
    },
  });
  try {
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(layer.apply(xi, { training: true }) as tf.Tensor))(x);
    assert.equal(calls, 1, 'the wrapper counts the input gradient when it is asked for');
    dx.dispose();
    calls = 0;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
    assert.equal(Object.keys(grads).length, 2, 'kernel and bias gradients');
    assert.equal(calls, 0, 'no Conv2DBackpropInput ran for the weights alone');
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    tf.unregisterKernel('Conv2DBackpropInput', 'native');
    tf.registerKernel(config);
    tf.dispose([x, ...layer.getWeights()]);
  }
});

/** Classifier v1 as models.ts built it before FastConv2D: linear convs, each followed by a ReLU layer. */
function oldLayoutV1(h: number, w: number, outputs: number): tf.LayersModel {
  let n = 0;
  const init = () => tf.initializers.glorotUniform({ seed: 1000 + ++n });
  const input = tf.input({ shape: [h, w, 3] });
  let x: tf.SymbolicTensor = input;
  const conv = (f: number, p: 'same' | 'valid', a: 'relu' | 'linear') =>
    tf.layers.conv2d({ filters: f, kernelSize: 3, padding: p, activation: a, kernelInitializer: init() });
  const convRelu = (f: number, p: 'same' | 'valid') => {
    x = conv(f, p, 'linear').apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  };
  const drop = (rate: number) => new FastDropout({ rate, seed: 1500 + ++n });
  x = conv(32, 'same', 'relu').apply(x) as tf.SymbolicTensor;
  convRelu(32, 'valid');
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = drop(0.25).apply(x) as tf.SymbolicTensor;
  convRelu(64, 'same');
  convRelu(64, 'valid');
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = drop(0.25).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  x = drop(0.5).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: outputs, activation: 'sigmoid', kernelInitializer: init() }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

test('a v1 classifier saved with separate ReLU layers loads and predicts as before; the new layout agrees', async () => {
  await use('native');
  const [h, w, k] = [23, 17, 5];
  const old = oldLayoutV1(h, w, k);
  const x = tf.tensor(
    values(3 * h * w * 3).map((v) => (v + 1) / 2),
    [3, h, w, 3],
  );
  const want = Float32Array.from((old.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const dir = tempDirSync('conv-relu');
  try {
    await saveLayersModel(old, dir);
    const loaded = await loadLayersModel(dir);
    assert.equal(loaded.layers.filter((l) => l.getClassName() === 'Activation').length, 3, 'the saved layout');
    assertClose((loaded.predict(x) as tf.Tensor).dataSync() as Float32Array, want, 'loaded old-layout model', 0);
    // The current layout computes the same function from the same weights, listed in the same order.
    const now = buildClassifier({ version: 1, width: w, height: h, outputs: k, seed: 1 });
    assert.equal(now.layers.filter((l) => l.getClassName() === 'Activation').length, 0);
    now.setWeights(loaded.getWeights());
    assertClose((now.predict(x) as tf.Tensor).dataSync() as Float32Array, want, 'current layout, same weights', 1e-6);
    loaded.dispose();
    now.dispose();
  } finally {
    x.dispose();
    old.dispose();
  }
});
