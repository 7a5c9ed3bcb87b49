/**
 * The native batch-norm training kernels and optimizer updates (native/training.cc) against the
 * cpu backend's moments + batchNorm composition, a double-precision finite-difference gradient,
 * and the JS optimizer loops (which they must equal bit for bit) plus a plain reference.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../engine/tf.js';
import { nativeAddon, registerNativeBackend } from '../engine/native/backend.js';
import type { TrainingAddon } from '../engine/native/training.js';
import { type BnActivation, batchNormTrain, batchNormTrainGradJs } from '../engine/kernels/batchnorm-train.js';
import { fusedAdam, fusedAdamUpdate, fusedRmsprop } from '../engine/ops/optimizers.js';
import { createRng } from '../src/core/random.js';
import { at } from './helpers/at.js';

const rng = createRng(11, 'native-training-test');
const rand = (n: number, lo = -1, hi = 1): Float32Array =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Calls into the addon's training functions, counted by wrapping them on the module object. */
const calls = new Map<string, number>();
let addon: TrainingAddon;

before(async () => {
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
  addon = nativeAddon() as unknown as TrainingAddon;
  const mod = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['bnTrainForward', 'bnTrainBackward', 'adamUpdate', 'rmspropUpdate']) {
    const f = mod[name];
    assert.ok(typeof f === 'function', `the addon exports ${name}`);
    mod[name] = (...a: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return f(...a);
    };
  }
});

async function use(backend: string): Promise<void> {
  await tf.setBackend(backend);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol: number, atol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = at(got, i, what),
      b = at(want, i, what);
    const ok = Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!ok) assert.fail(`${what}[${i}]: native ${a} vs reference ${b}`);
  }
}

function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) assert.fail(`${what}[${i}]: native ${got[i]} vs JS ${want[i]}`);
}

// 2-D and 4-D, C = 3 and 64, odd sizes, batch 1, a single row (variance 0), and one large
// enough to take the two-thread path (>= 65536 elements).
const BN_SHAPES = [
  [3, 5, 7, 3],
  [1, 4, 6, 64],
  [2, 3, 3, 64],
  [17, 3],
  [9, 64],
  [1, 5],
  [4, 16, 17, 64],
];

/** Inputs of one case: x with per-channel offsets (means far from 0), gamma, beta, loss weights. */
function bnCase(shape: number[]): { x: Float32Array; g: Float32Array; b: Float32Array; w: Float32Array } {
  const C = at(shape, shape.length - 1);
  const x = rand(size(shape), -2, 2).map((v, i) => v * (1 + (i % C) / C) + 3 * (i % C));
  return { x, g: rand(C, 0.5, 1.5), b: rand(C, -0.5, 0.5), w: rand(size(shape)) };
}

/**
 * y, mean, variance and the gradients of sum(y * w) with respect to x, gamma and beta. `act`:
 * the activation fused into the op, or `after`: the same activation as its own op afterwards.
 */
function bnRun(
  shape: number[],
  c: ReturnType<typeof bnCase>,
  act: BnActivation = 'linear',
  after: BnActivation = 'linear',
): Float32Array[] {
  const bn = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
    const r = batchNormTrain(xx, gg, bb, 1e-3, { activation: act, alpha: 0.2 });
    const y = after === 'relu' ? tf.relu(r.y) : after === 'leakyrelu' ? tf.leakyRelu(r.y, 0.2) : r.y;
    return { ...r, y };
  };
  return tf.tidy(() => {
    const C = shape[shape.length - 1];
    const x = tf.tensor(c.x, shape);
    const gamma = tf.tensor1d(c.g);
    const beta = tf.tensor1d(c.b);
    const { y, mean, variance } = bn(x, gamma, beta);
    const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(bn(xx, gg, bb).y, tf.tensor(c.w, shape))),
    )([x, gamma, beta]);
    assert.deepEqual(
      grads.map((t) => t.shape),
      [shape, [C], [C]],
    );
    return [y, mean, variance, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/**
 * Runs fn once per SIMD path the CPU has, with the addon switched to it: batch norm runs its
 * AVX2/FMA build on avx512 and avx2, its baseline build on portable; so do the optimizer updates
 * (AVX2 or SSE2).
 */
async function onEachPath(fn: (simd: string) => Promise<void>): Promise<void> {
  const native = nativeAddon()!;
  const before = native.info().simd;
  try {
    for (const simd of native.info().supported) {
      native.setSimd(simd);
      await fn(simd);
    }
  } finally {
    native.setSimd(before);
  }
}

test('batch-norm training forward and gradients: native kernels vs moments + batchNorm on the cpu backend', async () => {
  await onEachPath(async (simd) => {
    for (const shape of BN_SHAPES) {
      const c = bnCase(shape);
      await use('native');
      const f0 = calls.get('bnTrainForward') ?? 0;
      const b0 = calls.get('bnTrainBackward') ?? 0;
      const got = bnRun(shape, c);
      assert.ok(
        (calls.get('bnTrainForward') ?? 0) > f0 && (calls.get('bnTrainBackward') ?? 0) > b0,
        `${shape}: the native kernels ran`,
      );
      await use('cpu');
      const want = bnRun(shape, c);
      const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
      names.forEach((n, k) => {
        let scale = 0;
        for (const v of at(want, k)) scale = Math.max(scale, Math.abs(v));
        assertClose(
          at(got, k),
          at(want, k),
          `[${simd}] ${JSON.stringify(shape)} ${n}`,
          2e-4,
          2e-5 * Math.max(1, scale),
        );
      });
    }
  });
});

test('batch norm with a fused ReLU / leaky ReLU: native kernels vs batch norm then the activation (native and cpu)', async () => {
  await onEachPath(async (simd) => {
    // The normalised values fall on both sides of 0 (asserted below): both branches of each activation run.
    for (const shape of [
      [3, 5, 7, 3],
      [2, 3, 3, 64],
      [9, 64],
      [4, 16, 17, 64],
    ]) {
      for (const act of ['relu', 'leakyrelu'] as const) {
        const c = bnCase(shape);
        const what = `[${simd}] ${JSON.stringify(shape)} ${act}`;
        await use('native');
        const f0 = calls.get('bnTrainForward') ?? 0;
        const b0 = calls.get('bnTrainBackward') ?? 0;
        const fused = bnRun(shape, c, act);
        assert.ok(
          (calls.get('bnTrainForward') ?? 0) > f0 && (calls.get('bnTrainBackward') ?? 0) > b0,
          `${what}: the native kernels ran`,
        );
        const separate = bnRun(shape, c, 'linear', act);
        await use('cpu');
        const want = bnRun(shape, c, 'linear', act);
        let negatives = 0;
        for (const v of at(separate, 0)) negatives += v <= 0 ? 1 : 0;
        assert.ok(negatives > 0 && negatives < at(separate, 0).length, `${what}: both sides of 0 are covered`);
        ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'].forEach((n, k) => {
          let scale = 0;
          for (const v of at(want, k)) scale = Math.max(scale, Math.abs(v));
          // The same float z and the same activation formulas: the fused op equals the two ops.
          assertClose(at(fused, k), at(separate, k), `${what} ${n} fused vs separate`, 1e-6, 1e-7 * Math.max(1, scale));
          assertClose(at(fused, k), at(want, k), `${what} ${n} vs cpu`, 2e-4, 2e-5 * Math.max(1, scale));
        });
      }
    }
  });
});

/** y and the gradients of sum(y * w) in x, gamma, beta and bias, y = act(bn(x + bias)), as one op or as the ops in turn. */
function bnBiasRun(
  shape: number[],
  c: ReturnType<typeof bnCase>,
  bias: Float32Array,
  act: BnActivation,
  fused: boolean,
) {
  const C = at(shape, shape.length - 1);
  const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, cb: tf.Tensor): tf.Tensor => {
    if (fused) return batchNormTrain(xx, gg, bb, 1e-3, { activation: act, alpha: 0.2, bias: cb }).y;
    const y = batchNormTrain(tf.add(xx, cb), gg, bb, 1e-3).y;
    return act === 'relu' ? tf.relu(y) : act === 'leakyrelu' ? tf.leakyRelu(y, 0.2) : y;
  };
  return tf.tidy(() => {
    const args = [tf.tensor(c.x, shape), tf.tensor1d(c.g), tf.tensor1d(c.b), tf.tensor1d(bias)] as const;
    const y = f(...args);
    const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, cb: tf.Tensor) =>
      tf.sum(tf.mul(f(xx, gg, bb, cb), tf.tensor(c.w, shape))),
    )([...args]);
    assert.deepEqual(
      grads.map((t) => t.shape),
      [shape, [C], [C], [C]],
    );
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

test('batch norm with the convolution bias added in the op: native kernels vs add, batch norm, activation (native and cpu)', async () => {
  await onEachPath(async (simd) => {
    for (const shape of [
      [3, 5, 7, 3],
      [9, 64],
      [4, 16, 17, 64],
    ]) {
      for (const act of ['linear', 'relu', 'leakyrelu'] as const) {
        const c = bnCase(shape);
        const bias = rand(at(shape, shape.length - 1), -2, 2);
        const what = `[${simd}] ${JSON.stringify(shape)} ${act} + bias`;
        await use('native');
        const f0 = calls.get('bnTrainBackward') ?? 0;
        const fused = bnBiasRun(shape, c, bias, act, true);
        assert.ok((calls.get('bnTrainBackward') ?? 0) > f0, `${what}: the native kernels ran`);
        const separate = bnBiasRun(shape, c, bias, act, false);
        await use('cpu');
        const want = bnBiasRun(shape, c, bias, act, false);
        ['y', 'dx', 'dgamma', 'dbeta'].forEach((n, k) => {
          let scale = 0;
          for (const v of at(want, k)) scale = Math.max(scale, Math.abs(v));
          // x + bias formed in float as the Add stores it: the fused op equals the ops in turn.
          assertClose(at(fused, k), at(separate, k), `${what} ${n} fused vs separate`, 1e-6, 1e-7 * Math.max(1, scale));
          assertClose(at(fused, k), at(want, k), `${what} ${n} vs cpu`, 2e-4, 2e-5 * Math.max(1, scale));
        });
        // Batch norm removes any per-channel shift, so the bias gradient is 0 up to rounding: the
        // sum of M values of dx's size.
        const dxScale = Math.max(...Array.from(at(fused, 1), Math.abs));
        const M = size(shape) / at(shape, shape.length - 1);
        for (const v of at(fused, 4)) assert.ok(Math.abs(v) <= 1e-5 * M * dxScale, `${what} dbias ${v}`);
        for (const v of at(want, 4)) assert.ok(Math.abs(v) <= 1e-5 * M * dxScale, `${what} cpu dbias ${v}`);
      }
    }
  });
});

test('batch-norm statistics in one pass: a mean 10^5 standard deviations from 0 keeps its variance', async () => {
  await onEachPath(async (simd) => {
    const M = 301,
      C = 3;
    // Channel c: 1000 * (c + 1) + 0.01 * noise; the first row (the pass's reference value) is an outlier in channel 2.
    const x = rand(M * C).map((v, i) => 1000 * ((i % C) + 1) + 0.01 * v + (i === 2 ? 0.05 : 0));
    const bias = Float32Array.from([0.5, -0.25, 0]);
    const mean = new Float32Array(C),
      variance = new Float32Array(C);
    const ones = new Float32Array(C).fill(1);
    addon.bnTrainForward(x, bias, ones, new Float32Array(C), new Float32Array(M * C), mean, variance, M, C, 1e-5);
    for (let c = 0; c < C; c++) {
      // The reference: v = x + bias in float, the variance around the float mean, in double.
      const v = Array.from({ length: M }, (_, r) => Math.fround(at(x, r * C + c) + at(bias, c)));
      const m = Math.fround(v.reduce((a, b) => a + b, 0) / M);
      const want = v.reduce((a, b) => a + (b - m) ** 2, 0) / M;
      assert.ok(Math.abs(at(mean, c) - m) <= 1e-7 * Math.abs(m), `[${simd}] mean[${c}] ${at(mean, c)} vs ${m}`);
      assert.ok(
        Math.abs(at(variance, c) - want) <= 1e-4 * want,
        `[${simd}] variance[${c}] ${at(variance, c)} vs ${want}`,
      );
    }
  });
});

// 37 x 5 runs on one thread; 1003 x 67 (over 2^16 elements) on two, each thread's rows ending
// inside a block of the native passes' 4-row blocks.
for (const [M, C] of [
  [37, 5],
  [1003, 67],
] as const) {
  test(`batch-norm backward: dbias is the column sums of dx (native and JS kernels), ${M} x ${C}`, async () => {
    const [x, dy] = [rand(M * C, -3, 3), rand(M * C)];
    const [bias, g, b] = [rand(C, -1, 1), rand(C, 0.5, 1.5), rand(C, -0.5, 0.5)];
    const mean = new Float32Array(C),
      variance = new Float32Array(C);
    addon.bnTrainForward(x, bias, g, b, new Float32Array(M * C), mean, variance, M, C, 1e-3, 2, 0.2);
    const dx = new Float32Array(M * C);
    const [dgamma, dbeta, dbias] = [0, 1, 2].map(() => new Float32Array(C)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    addon.bnTrainBackward(dy, x, bias, g, b, mean, variance, dx, dgamma, dbeta, dbias, M, C, 1e-3, 2, 0.2);
    for (let ch = 0; ch < C; ch++) {
      let sum = 0,
        mag = 0;
      for (let r = 0; r < M; r++) {
        sum += at(dx, r * C + ch);
        mag += Math.abs(at(dx, r * C + ch));
      }
      assert.ok(mag > 0.1, 'dx is not all zeros');
      assert.ok(Math.abs(at(dbias, ch) - sum) <= 1e-6 * mag, `dbias[${ch}] ${at(dbias, ch)} vs sum ${sum}`);
    }
    // The JS kernel returns the same fourth output.
    await use('cpu');
    const js = tf.tidy(() =>
      (
        batchNormTrainGradJs({
          inputs: Object.fromEntries(
            Object.entries({ dy, x, bias, gamma: g, beta: b, mean, variance }).map(([k, v]) => [
              k,
              tf.tensor(v, k === 'dy' || k === 'x' ? [M, C] : [C]),
            ]),
          ),
          attrs: { varianceEpsilon: 1e-3, activation: 'leakyrelu', alpha: 0.2 },
          backend: tf.backend(),
        } as never) as tf.TensorInfo[]
      ).map((t) => (tf.backend() as unknown as { readSync(id: unknown): Float32Array }).readSync(t.dataId)),
    );
    assertClose(at(js, 3), dbias, 'JS dbias vs native', 1e-3, 1e-5);
    assertClose(at(js, 0), dx, 'JS dx vs native', 1e-4, 1e-5);
  });
}

/** sum(w * batchnorm(x)) in double precision: the finite differences' ground truth. */
function bnLoss64(x: Float64Array, g: Float64Array, b: Float64Array, w: Float32Array, C: number, eps: number): number {
  const M = x.length / C;
  let loss = 0;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = c; i < x.length; i += C) s += at(x, i);
    const mean = s / M;
    let q = 0;
    for (let i = c; i < x.length; i += C) q += (at(x, i) - mean) ** 2;
    const r = 1 / Math.sqrt(q / M + eps);
    const gc = at(g, c),
      bc = at(b, c);
    for (let i = c; i < x.length; i += C) loss += at(w, i) * ((at(x, i) - mean) * r * gc + bc);
  }
  return loss;
}

test('batch-norm training gradients: native kernels vs double-precision finite differences', async () => {
  await use('native');
  for (const shape of [
    [2, 3, 5, 3],
    [7, 64],
    [1, 3, 2, 4],
  ]) {
    const C = at(shape, shape.length - 1);
    const c = bnCase(shape);
    const run = bnRun(shape, c);
    const dx = at(run, 3),
      dgamma = at(run, 4),
      dbeta = at(run, 5);
    const x = Float64Array.from(c.x),
      g = Float64Array.from(c.g),
      b = Float64Array.from(c.b);
    const numeric = (v: Float64Array, i: number): number => {
      const keep = at(v, i);
      const h = 1e-4 * Math.max(1, Math.abs(keep));
      v[i] = keep + h;
      const up = bnLoss64(x, g, b, c.w, C, 1e-3);
      v[i] = keep - h;
      const down = bnLoss64(x, g, b, c.w, C, 1e-3);
      v[i] = keep;
      return (up - down) / (2 * h);
    };
    const check = (v: Float64Array, analytic: Float32Array, what: string): void => {
      for (let k = 0; k < 12; k++) {
        const i = k < analytic.length ? (k * 7919) % analytic.length : 0;
        const want = numeric(v, i);
        const a = at(analytic, i, what);
        assert.ok(
          Math.abs(a - want) <= 1e-3 * Math.max(1, Math.abs(want)),
          `${JSON.stringify(shape)} ${what}[${i}]: ${a} vs numerical ${want}`,
        );
      }
    };
    check(x, dx, 'dx');
    check(g, dgamma, 'dgamma');
    check(b, dbeta, 'dbeta');
  }
});

test('batch-norm training: inputs the native kernel does not take still get an answer', async () => {
  await use('native');
  // An int32 gamma makes batchNormTrain use the moments + batchNorm composition.
  const y = tf.tidy(() =>
    batchNormTrain(
      tf.tensor([
        [1, 2],
        [3, 6],
      ]),
      tf.tensor1d([1, 1], 'int32'),
      tf.tensor1d([0, 0]),
      0,
    ).y.dataSync(),
  );
  assertClose(y, [-1, -1, 1, 1], 'int32 gamma', 0, 1e-6);
  assert.throws(
    () =>
      addon.bnTrainForward(
        new Float32Array(5),
        null,
        new Float32Array(2),
        new Float32Array(2),
        new Float32Array(6),
        new Float32Array(2),
        new Float32Array(2),
        3,
        2,
        1e-5,
      ),
    /too short/,
  );
});

test('batch-norm training: sizes whose product overflows throw a JS error, not a crash', () => {
  const f = (n: number): Float32Array => new Float32Array(n);
  // 2^35 * 2^35 wraps to 0 in int64: a length check on the wrapped product would pass.
  assert.throws(
    () => addon.bnTrainForward(f(4), null, f(4), f(4), f(4), f(4), f(4), 2 ** 35, 2 ** 35, 1e-5),
    /too large/,
  );
  assert.throws(
    () =>
      addon.bnTrainBackward(f(4), f(4), null, f(4), f(4), f(4), f(4), f(4), f(4), f(4), null, 2 ** 35, 2 ** 35, 1e-5),
    /too large/,
  );
  assert.throws(
    () => addon.bnTrainForward(f(4), null, f(4), f(4), f(4), f(4), f(4), 2 ** 60, 1, 1e-5),
    /must be a count/,
  );
});

/**
 * Gradients: `zeros` has some exact zeros, as dead ReLU units give, and magnitudes from 1e-3 to
 * 10; `signed` none (centered RMSprop: tfjs's formula takes the square root of -epsilon there);
 * `special` mixes -0, float denormals, magnitudes whose squares overflow float, infinities and NaN.
 */
type GradKind = 'zeros' | 'signed' | 'special';
const SPECIAL = [0, -0, 1e-42, -3e-39, 3e38, -1e30, Infinity, -Infinity, NaN, 1e-20];

function gradient(kind: GradKind, x: number, i: number): number {
  if (kind === 'signed') return Math.sign(x) * (0.1 + Math.abs(x));
  if (kind === 'special' && i % 3 === 0) return at(SPECIAL, (i / 3) % SPECIAL.length);
  return i % 11 === 0 ? 0 : x * 10 ** ((i % 5) - 3);
}

// A large weight (threaded: each thread's block ends off the vector width) and small ones: all
// tail (15 elements), and vectors then a tail (39).
const OPT_SHAPES = [
  [301, 257],
  [5, 3],
  [3, 13],
];

/** Weights and slots after `steps` updates of a model with OPT_SHAPES' weights. */
function trainWith(make: () => tf.Optimizer, steps: number, seed: number, kind: GradKind): Float32Array[] {
  const r = createRng(seed, 'opt');
  const draw = (n: number, lo: number, hi: number): Float32Array =>
    Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next());
  const vars = OPT_SHAPES.map((s, k) =>
    tf.variable(tf.tensor(draw(size(s), -1, 1), s), true, `opt-${seed}-${k}-${tf.getBackend()}`),
  );
  const opt = make();
  for (let s = 0; s < steps; s++) {
    const grads: Record<string, tf.Tensor> = {};
    vars.forEach((v) => {
      const g = draw(v.size, -1, 1).map((x, i) => gradient(kind, x, i));
      grads[v.name] = tf.tensor(g, v.shape);
    });
    opt.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const out = vars.map((v) => Float32Array.from(v.dataSync()));
  const named = opt as unknown as Record<string, { variable: tf.Variable }[] | undefined>;
  for (const key of [
    'accumulatedFirstMoment',
    'accumulatedSecondMoment',
    'accumulatedMeanSquares',
    'accumulatedMoments',
    'accumulatedMeanGrads',
  ]) {
    for (const s of named[key] ?? []) if (s) out.push(Float32Array.from(s.variable.dataSync()));
  }
  opt.dispose();
  tf.dispose(vars);
  return out;
}

const OPTIMIZERS: [string, string, () => tf.Optimizer][] = [
  ['Adam(2e-4, 0.5)', 'adamUpdate', () => fusedAdam(2e-4, 0.5)],
  ['Adam defaults', 'adamUpdate', () => fusedAdam()],
  ['RMSprop(1e-4, 0.9, 0, 1e-7)', 'rmspropUpdate', () => fusedRmsprop(1e-4, 0.9, 0, 1e-7)],
  ['RMSprop momentum', 'rmspropUpdate', () => fusedRmsprop(1e-3, 0.8, 0.9)],
  ['RMSprop centered', 'rmspropUpdate', () => fusedRmsprop(1e-3, 0.9, 0.5, 1e-6, true)],
];

for (const [label, fn, make] of OPTIMIZERS) {
  for (const kind of label.includes('centered') ? (['signed', 'special'] as const) : (['zeros', 'special'] as const)) {
    test(`native ${label} equals the JS loop bit for bit over 5 steps on every SIMD path (${kind} gradients)`, async () => {
      await use('cpu');
      const want = trainWith(make, 5, 3, kind);
      assert.ok(want.length >= 3 * OPT_SHAPES.length, 'weights and at least two slots each');
      if (kind === 'special')
        assert.ok(
          want.some((a) => a.some(Number.isNaN)),
          'the special values reach the results',
        );
      else
        assert.ok(
          want.every((a) => a.every(Number.isFinite)),
          'finite values',
        );
      await use('native');
      await onEachPath(async (simd) => {
        const before = calls.get(fn) ?? 0;
        const got = trainWith(make, 5, 3, kind);
        assert.equal(
          (calls.get(fn) ?? 0) - before,
          5 * OPT_SHAPES.length,
          `[${simd}] one native update per weight and step`,
        );
        assert.equal(got.length, want.length);
        got.forEach((a, k) => assertSame(a, at(want, k), `[${simd}] ${label} array ${k}`));
      });
    });
  }
}

/** Plain TF1 Adam in double precision, rounding m and v to float32 as the kernels store them. */
function adamReference(
  w: Float32Array,
  grads: Float32Array[],
  lr: number,
  b1: number,
  b2: number,
  eps: number,
): Float32Array[] {
  const x = Float64Array.from(w),
    m = new Float32Array(w.length),
    v = new Float32Array(w.length);
  grads.forEach((g, k) => {
    const t = k + 1;
    const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (let i = 0; i < w.length; i++) {
      const gi = at(g, i);
      m[i] = b1 * at(m, i) + (1 - b1) * gi;
      v[i] = b2 * at(v, i) + (1 - b2) * gi * gi;
      x[i] = Math.fround(at(x, i) - (lrT * at(m, i)) / (Math.sqrt(at(v, i)) + eps));
    }
  });
  return [Float32Array.from(x), m, v];
}

test("fusedAdamUpdate (TF1 form, the DCGAN's): native equals the JS loop on every SIMD path and follows a plain reference", async () => {
  const n = 70001;
  const w0 = rand(n);
  const grads = [0, 1, 2, 3].map(() => rand(n).map((g, i) => g * 10 ** ((i % 4) - 2)));
  const run = async (backend: string): Promise<Float32Array[]> => {
    await use(backend);
    const value = tf.variable(tf.tensor1d(w0), true, `tf1-${backend}`);
    const m = tf.tidy(() => tf.variable(tf.zeros([n]), false));
    const v = tf.tidy(() => tf.variable(tf.zeros([n]), false));
    // A tensor that shares the first moment's buffer must keep its values.
    const shared = tf.clone(m);
    grads.forEach((g, k) => {
      const lr = (2e-4 * Math.sqrt(1 - 0.999 ** (k + 1))) / (1 - 0.5 ** (k + 1));
      tf.tidy(() =>
        assert.ok(fusedAdamUpdate({ value, m, v, grad: tf.tensor1d(g), lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 })),
      );
    });
    assert.ok(
      shared.dataSync().every((s) => s === 0),
      'a clone of a slot is not written through',
    );
    const out = [value, m, v].map((t) => Float32Array.from(t.dataSync()));
    tf.dispose([value, m, v, shared]);
    return out;
  };
  const want = await run('cpu');
  let got: Float32Array[] = [];
  await onEachPath(async (simd) => {
    const before = calls.get('adamUpdate') ?? 0;
    got = await run('native');
    assert.equal((calls.get('adamUpdate') ?? 0) - before, 4);
    got.forEach((a, k) => assertSame(a, at(want, k), `[${simd}] TF1 Adam array ${k}`));
  });
  const ref = adamReference(w0, grads, 2e-4, 0.5, 0.999, 1e-8);
  ['x', 'm', 'v'].forEach((name, k) =>
    assertClose(at(got, k), at(ref, k), `TF1 Adam ${name} vs reference`, 1e-5, 1e-9),
  );
});

test('native updates write a weight in place only while nothing else can see its array', async () => {
  await use('native');
  const n = 300 * 300; // above the pool's minimum: its arrays are tracked
  const w = tf.variable(tf.tensor1d(rand(n)), true, 'in-place-w');
  const g = tf.tensor1d(rand(n));
  const opt = fusedRmsprop(1e-3);
  const step = (): void => opt.applyGradients([{ name: w.name, tensor: g }]);
  const array = (): unknown =>
    (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(w.dataId).values;
  step(); // the user's initial array: replaced
  const first = array();
  step();
  assert.equal(array(), first, 'a private weight is updated in place');
  const held = Float32Array.from(w.dataSync()); // dataSync hands the array out...
  const handedOut = w.dataSync();
  step();
  assert.notEqual(array(), first, '...so the next update writes a new one');
  assertSame(handedOut, held, 'the array dataSync returned');
  const snapshot = tf.clone(w);
  const before = Float32Array.from(snapshot.dataSync());
  step();
  assertSame(snapshot.dataSync(), before, 'a clone sharing the weight');
  tf.dispose([w, g, snapshot]);
  opt.dispose();
});
