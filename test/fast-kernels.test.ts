/**
 * Every fast kernel against the cpu backend's own kernel on the same inputs: same shapes,
 * dtypes and values (within float32 rounding), on the fast path and on the cases it hands
 * back to the cpu kernel, plus gradients through tf.grad for the ops used in backprop.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../engine/tf.js';
import { createRng } from '../src/core/random.js';
import { pathCounts } from '../engine/kernels/util.js';
import { at } from './helpers/at.js';
import { registerFastCpuBackend } from '../engine/kernels/fast-cpu-backend.js';

const FAST = 'fasttest';
type Tensor = tf.Tensor;

let rng = createRng(5, 'fast-kernels-test');

async function withRng<T>(r: typeof rng, f: () => Promise<T>): Promise<T> {
  const saved = rng;
  rng = r;
  try {
    return await f();
  } finally {
    rng = saved;
  }
}

function rand(shape: number[], lo = -2, hi = 2): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

function randInt(shape: number[], lo: number, hi: number): number[] {
  return rand(shape, 0, 1).map((u) => lo + Math.floor(u * (hi - lo + 1)));
}

interface Out {
  shape: number[];
  dtype: string;
  values: number[];
}

function collect(t: Tensor | Tensor[]): Out[] {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => ({ shape: x.shape, dtype: x.dtype, values: Array.from(x.dataSync() as ArrayLike<number>) }));
}

/** Runs `build` on the cpu backend and on the fast one; returns the fast-path counts of `kernel`. */
async function compare(
  what: string,
  build: () => Tensor | Tensor[],
  opts: { kernel?: string; expect?: 'fast' | 'cpu'; rtol?: number; atol?: number } = {},
): Promise<void> {
  await tf.setBackend('cpu');
  const ref = collect(tf.tidy(build));
  await tf.setBackend(FAST);
  const before = { ...(pathCounts.get(opts.kernel ?? '') ?? { fast: 0, cpu: 0 }) };
  const got = collect(tf.tidy(build));
  const after = pathCounts.get(opts.kernel ?? '') ?? { fast: 0, cpu: 0 };
  await tf.setBackend('cpu');
  if (opts.kernel && opts.expect) {
    const ran = opts.expect === 'fast' ? after.fast - before.fast : after.cpu - before.cpu;
    assert.ok(ran > 0, `${what}: expected the ${opts.expect} path of ${opts.kernel} to run`);
  }
  assert.equal(got.length, ref.length, `${what}: number of outputs`);
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  ref.forEach((r, k) => {
    const g = at(got, k, `${what}: output`);
    assert.deepEqual(g.shape, r.shape, `${what}: shape of output ${k}`);
    assert.equal(g.dtype, r.dtype, `${what}: dtype of output ${k}`);
    assert.equal(g.values.length, r.values.length);
    for (let i = 0; i < r.values.length; i++) {
      const a = at(g.values, i, what);
      const b = at(r.values, i, what);
      if (Number.isNaN(b)) {
        assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      } else if (!Number.isFinite(b)) {
        assert.equal(a, b, `${what}[${i}]`);
      } else {
        assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${i}]: fast ${a} vs cpu ${b}`);
      }
    }
  });
}

before(async () => {
  registerFastCpuBackend(FAST);
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
});

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
  ['Add', tf.add, true],
  ['Sub', tf.sub, true],
  ['Multiply', tf.mul, true],
  ['RealDiv', tf.div, false],
  ['Maximum', tf.maximum, true],
  ['Minimum', tf.minimum, true],
  ['SquaredDifference', tf.squaredDifference, true],
  ['Greater', tf.greater, true],
  ['GreaterEqual', tf.greaterEqual, true],
  ['Less', tf.less, true],
  ['LessEqual', tf.lessEqual, true],
  ['Equal', tf.equal, true],
  ['NotEqual', tf.notEqual, true],
];

// [a shape, b shape]: same shape, scalars, channel vectors over NHWC, columns, outer products,
// rank mismatch, size-1 output, empty.
const BROADCASTS: [number[], number[]][] = [
  [
    [2, 3, 4, 5],
    [2, 3, 4, 5],
  ],
  [[2, 3, 4, 5], []],
  [[], [3, 4]],
  [[2, 3, 4, 5], [5]],
  [[5], [2, 3, 4, 5]],
  [
    [2, 3, 4, 5],
    [1, 1, 1, 5],
  ],
  [
    [2, 3, 4, 5],
    [2, 3, 1, 1],
  ],
  [
    [3, 1],
    [1, 4],
  ],
  [
    [4, 1, 5],
    [3, 1, 1, 1],
  ],
  [
    [6, 3],
    [6, 1],
  ],
  [[1, 1], [1]],
  [[], []],
  [[0, 5], [5]],
  [
    [2, 0, 3],
    [1, 1, 3],
  ],
];

for (const [name, op, intOk] of BINARY) {
  test(`${name} matches the cpu kernel on every broadcast pattern`, async () => {
    for (const [sa, sb] of BROADCASTS) {
      const av = rand(sa);
      // Integers in b make ties for the comparisons; a NaN checks NaN propagation.
      const bv = randInt(sb, -2, 2);
      if (av.length > 3) av[3] = NaN;
      const build = () => op(tf.tensor(av, sa), tf.tensor(bv, sb));
      await compare(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, build, { kernel: name, expect: 'fast' });
    }
  });

  test(`${name} on int32 and bool matches the cpu kernel`, async () => {
    const av = randInt([3, 4], -5, 5);
    const bv = randInt([4], -5, 5).map((v) => (v === 0 ? 1 : v));
    const build = () => op(tf.tensor(av, [3, 4], 'int32'), tf.tensor(bv, [4], 'int32'));
    // tf.div on two int32 tensors is a FloorDiv, not this kernel.
    if (name !== 'RealDiv') await compare(`${name} int32`, build, { kernel: name, expect: intOk ? 'fast' : 'cpu' });
    if (['Equal', 'NotEqual', 'Greater', 'Less'].includes(name)) {
      const p = av.map((v) => (v > 0 ? 1 : 0));
      const q = bv.map((v) => (v > 0 ? 1 : 0));
      const buildBool = () => op(tf.tensor(p, [3, 4], 'bool'), tf.tensor(q, [4], 'bool'));
      await compare(`${name} bool`, buildBool, { kernel: name, expect: 'cpu' });
    }
  });
}

test('Prelu matches the cpu kernel with a per-channel alpha', async () => {
  const x = rand([2, 3, 4, 5]);
  const alpha = rand([5], 0, 0.5);
  await compare('Prelu', () => tf.prelu(tf.tensor(x, [2, 3, 4, 5]), tf.tensor(alpha, [5])), {
    kernel: 'Prelu',
    expect: 'fast',
  });
});

const UNARY: [string, (x: Tensor) => Tensor, number, number][] = [
  ['Relu', tf.relu, -3, 3],
  ['Relu6', tf.relu6, -3, 9],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.2), -3, 3],
  ['Elu', tf.elu, -3, 3],
  ['Tanh', tf.tanh, -5, 5],
  ['Sigmoid', tf.sigmoid, -20, 20],
  ['Step', (x) => tf.step(x, 0.3), -3, 3],
  ['Square', tf.square, -3, 3],
  ['Sqrt', tf.sqrt, -1, 9],
  ['Rsqrt', tf.rsqrt, -1, 9],
  ['Reciprocal', tf.reciprocal, -3, 3],
  ['Exp', tf.exp, -10, 10],
  ['Log', tf.log, -1, 10],
  ['Log1p', tf.log1p, -1.5, 10],
  ['Neg', tf.neg, -3, 3],
  ['Abs', tf.abs, -3, 3],
  ['Floor', tf.floor, -3, 3],
  ['Softplus', tf.softplus, -30, 30],
  ['ClipByValue', (x) => tf.clipByValue(x, -0.5, 1.25), -3, 3],
];

for (const [name, op, lo, hi] of UNARY) {
  test(`${name} matches the cpu kernel (float32 fast, int32 and empty inputs)`, async () => {
    const shape = [3, 7, 5];
    const v = rand(shape, lo, hi);
    v[0] = 0;
    v[1] = NaN;
    await compare(`${name} float32`, () => op(tf.tensor(v, shape)), { kernel: name, expect: 'fast', rtol: 2e-6 });
    await compare(`${name} scalar`, () => op(tf.scalar(at(v, 5))), { kernel: name, expect: 'fast' });
    await compare(`${name} empty`, () => op(tf.tensor([], [0, 4])), { kernel: name });
    if (['Relu', 'Neg', 'Abs', 'Square', 'ClipByValue'].includes(name)) {
      const iv = randInt(shape, -4, 4);
      await compare(`${name} int32`, () => op(tf.tensor(iv, shape, 'int32')), { kernel: name, expect: 'cpu' });
    }
  });
}

const REDUCTIONS: [string, (x: Tensor, axis: number | number[] | null, keep: boolean) => Tensor][] = [
  ['Sum', (x, a, k) => tf.sum(x, a ?? undefined, k)],
  ['Mean', (x, a, k) => tf.mean(x, a ?? undefined, k)],
  ['Max', (x, a, k) => tf.max(x, a ?? undefined, k)],
  ['Min', (x, a, k) => tf.min(x, a ?? undefined, k)],
];

// [shape, axis, fast?]: batch-norm moments over NHWC, bias gradients, last axis, everything,
// size-1 dimensions around the block, and a non-contiguous set that the cpu kernel must take.
const AXES: [number[], number | number[] | null, boolean][] = [
  [[4, 3, 5, 6], [0, 1, 2], true],
  [[4, 3, 5, 6], -1, true],
  [[4, 3, 5, 6], [1, 2], true],
  [[4, 3, 5, 6], null, true],
  [[1, 3, 1, 4], [0, 1], true],
  [[7], 0, true],
  [[4, 3, 5, 6], [0, 2], false],
  [[4, 3, 5, 6], [2, 0, 1], true],
];

for (const [name, op] of REDUCTIONS) {
  test(`${name} matches the cpu kernel on contiguous and scattered axes`, async () => {
    for (const [shape, axis, fast] of AXES) {
      const v = rand(shape, -3, 3);
      for (const keep of [false, true]) {
        await compare(
          `${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keep ${keep}`,
          () => op(tf.tensor(v, shape), axis, keep),
          {
            kernel: name,
            expect: fast ? 'fast' : 'cpu',
            rtol: 1e-5,
          },
        );
      }
    }
    await compare(`${name} empty`, () => op(tf.tensor([], [0, 3]), 0, false), { kernel: name });
    const nanV = rand([3, 4]);
    nanV[5] = NaN;
    await compare(`${name} with NaN`, () => op(tf.tensor(nanV, [3, 4]), 0, false), { kernel: name, expect: 'fast' });
  });
}

test('Sum on int32 and bool matches the cpu kernel', async () => {
  const v = randInt([4, 6], -100, 100);
  await compare('Sum int32', () => tf.sum(tf.tensor(v, [4, 6], 'int32'), 0), { kernel: 'Sum', expect: 'fast' });
  await compare(
    'Sum bool',
    () =>
      tf.sum(
        tf.tensor(
          v.map((x) => (x > 0 ? 1 : 0)),
          [4, 6],
          'bool',
        ),
        1,
      ),
    { kernel: 'Sum' },
  );
});

// [input shape, filter, stride, pad]
const POOLS: [number[], number, number, 'valid' | 'same'][] = [
  [[2, 9, 7, 3], 2, 2, 'valid'],
  [[2, 8, 6, 5], 2, 2, 'valid'],
  [[1, 9, 7, 4], 3, 2, 'same'],
  [[2, 5, 6, 2], 3, 1, 'same'],
  [[1, 6, 4, 64], 2, 2, 'same'],
];

test('MaxPool and MaxPoolGrad match the cpu kernels, ties included', async () => {
  for (const [shape, f, s, pad] of POOLS) {
    // Small integers make equal maxima in a window: the gradient must go to the first one.
    // NaN is skipped and an all -Infinity window gets no gradient, as on the cpu backend.
    const v = randInt(shape, -3, 3);
    v[0] = NaN;
    const C = at(shape, 3);
    v[C * 2] = -Infinity;
    v[C * 3] = NaN;
    const what = `${JSON.stringify(shape)} f${f} s${s} ${pad}`;
    await compare(
      `MaxPool ${what}`,
      () => tf.maxPool(tf.tensor4d(v, shape as [number, number, number, number]), f, s, pad),
      {
        kernel: 'MaxPool',
        expect: 'fast',
      },
    );
    const dyShape = tf.tidy(
      () => tf.maxPool(tf.tensor4d(v, shape as [number, number, number, number]), f, s, pad).shape,
    );
    const dy = rand(dyShape);
    await compare(
      `MaxPoolGrad ${what}`,
      () => {
        const x = tf.tensor4d(v, shape as [number, number, number, number]);
        return tf.grad((t: Tensor) =>
          tf
            .maxPool(t as tf.Tensor4D, f, s, pad)
            .mul(tf.tensor(dy, dyShape))
            .sum(),
        )(x);
      },
      { kernel: 'MaxPoolGrad', expect: 'fast' },
    );
  }
});

test('Tile matches the cpu kernel for float32, int32 and bool', async () => {
  const cases: [number[], number[]][] = [
    [
      [1, 1, 1, 4],
      [2, 3, 2, 1],
    ],
    [
      [2, 3],
      [2, 2],
    ],
    [[3], [4]],
    [
      [2, 1, 3],
      [1, 5, 1],
    ],
  ];
  for (const [shape, reps] of cases) {
    const v = randInt(shape, -5, 5);
    await compare(`Tile ${shape} x ${reps}`, () => tf.tile(tf.tensor(v, shape), reps), {
      kernel: 'Tile',
      expect: 'fast',
    });
    await compare(`Tile int32 ${shape}`, () => tf.tile(tf.tensor(v, shape, 'int32'), reps), {
      kernel: 'Tile',
      expect: 'fast',
    });
    await compare(
      `Tile bool ${shape}`,
      () =>
        tf.tile(
          tf.tensor(
            v.map((x) => (x > 0 ? 1 : 0)),
            shape,
            'bool',
          ),
          reps,
        ),
      { kernel: 'Tile', expect: 'fast' },
    );
  }
});

test('Select (tf.where) matches the cpu kernel, per-row conditions fall back', async () => {
  const shape = [3, 4, 5];
  const c = randInt(shape, 0, 1);
  const t = rand(shape);
  const e = rand(shape);
  await compare('Select', () => tf.where(tf.tensor(c, shape, 'bool'), tf.tensor(t, shape), tf.tensor(e, shape)), {
    kernel: 'Select',
    expect: 'fast',
  });
  // tf.where broadcasts the condition first; the kernel itself also takes one value per row.
  const rowC = randInt([3], 0, 1);
  const perRow = () =>
    tf.engine().runKernel('Select', {
      condition: tf.tensor(rowC, [3], 'bool'),
      t: tf.tensor(t, shape),
      e: tf.tensor(e, shape),
    }) as Tensor;
  await compare('Select per row', perRow, { kernel: 'Select', expect: 'cpu' });
});

test('FusedBatchNorm matches the cpu kernel with and without offset and scale', async () => {
  const shape = [2, 3, 4, 6];
  const x = rand(shape);
  const m = rand([6], -1, 1);
  const v = rand([6], 0.1, 2);
  const o = rand([6]);
  const s = rand([6]);
  const t4 = () => tf.tensor4d(x, shape as [number, number, number, number]);
  await compare(
    'BN full',
    () => tf.batchNorm(t4(), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(o), tf.tensor1d(s), 1e-5),
    {
      kernel: 'FusedBatchNorm',
      expect: 'fast',
    },
  );
  await compare('BN bare', () => tf.batchNorm(t4(), tf.tensor1d(m), tf.tensor1d(v)), {
    kernel: 'FusedBatchNorm',
    expect: 'fast',
  });
  await compare(
    'BN scalar scale',
    () => tf.batchNorm(t4(), tf.tensor1d(m), tf.tensor1d(v), undefined, tf.tensor1d([1.5]), 1e-3),
    {
      kernel: 'FusedBatchNorm',
      expect: 'fast',
    },
  );
  await compare(
    'BN mismatched param',
    () => tf.batchNorm(t4(), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(o.slice(0, 2))),
    {
      kernel: 'FusedBatchNorm',
      expect: 'cpu',
    },
  );
});

test('gradients of a DCGAN-style block (batch norm, leaky ReLU, tanh, sigmoid BCE) match the cpu backend', async () => {
  const xs = [2, 5, 4, 8];
  const x = rand(xs);
  const gamma = rand([8], 0.5, 1.5);
  const beta = rand([8], -0.5, 0.5);
  const w = rand([8, 1], -0.5, 0.5);
  const build = () =>
    tf.grads((xt: Tensor, g: Tensor, b: Tensor, wt: Tensor) => {
      const { mean, variance } = tf.moments(xt, [0, 1, 2]);
      const bn = tf.batchNorm(xt as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5);
      const h = tf.tanh(tf.leakyRelu(bn, 0.2)).add(tf.relu(bn));
      const logits = tf.matMul(tf.mean(h, [1, 2]), wt as tf.Tensor2D);
      return tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits);
    })([tf.tensor(x, xs), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor(w, [8, 1])]);
  await compare('DCGAN block grads', build, { rtol: 1e-4, atol: 1e-6 });
});

test('gradients of a classifier-style block (bias, ReLU, max pool, sigmoid, BCE) match the cpu backend', async () => {
  const xs = [2, 7, 6, 4];
  const x = rand(xs);
  const bias = rand([4]);
  const labels = randInt([2, 3], 0, 1);
  const w = rand([36, 3], -0.5, 0.5);
  const build = () =>
    tf.grads((xt: Tensor, bt: Tensor, wt: Tensor) => {
      const h = tf.maxPool(tf.relu(tf.add(xt, bt)) as tf.Tensor4D, 2, 2, 'valid');
      const p = tf.sigmoid(tf.matMul(h.reshape([2, 36]), wt as tf.Tensor2D));
      return tf.metrics.binaryCrossentropy(tf.tensor(labels, [2, 3]), p).mean();
    })([tf.tensor(x, xs), tf.tensor1d(bias), tf.tensor(w, [36, 3])]);
  await compare('classifier block grads', build, { rtol: 1e-4, atol: 1e-6 });
});

test('batch-norm gradient through the fast kernels agrees with a numerical gradient', async () => {
  await tf.setBackend(FAST);
  const xs = [3, 2, 2, 3];
  const x = rand(xs).map((v) => v * 2);
  const dir = rand(xs);
  const f = (t: Tensor) => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    const bn = tf.batchNorm(
      t as tf.Tensor4D,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      tf.zeros([3]),
      tf.ones([3]),
      1e-3,
    );
    return bn.mul(tf.tensor(dir, xs)).square().sum();
  };
  const g = tf.tidy(() => Array.from(tf.grad(f)(tf.tensor(x, xs)).dataSync()));
  // Central differences in double over a few coordinates (float32 forward, so a loose tolerance).
  const h = 1e-2;
  for (const i of [0, 5, 17, 30]) {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] = at(plus, i) + h;
    minus[i] = at(minus, i) - h;
    const fp = at(
      tf.tidy(() => f(tf.tensor(plus, xs)).dataSync()),
      0,
    );
    const fm = at(
      tf.tidy(() => f(tf.tensor(minus, xs)).dataSync()),
      0,
    );
    const num = (fp - fm) / (2 * h);
    const gi = at(g, i);
    assert.ok(
      Math.abs(num - gi) <= 2e-2 * Math.max(1, Math.abs(num)),
      `d/dx[${i}]: analytic ${gi} vs numerical ${num}`,
    );
  }
  await tf.setBackend('cpu');
});

/** Trains two copies of a tiny model, one per optimizer, and returns weights and slots after `steps`. */
async function trainWith(
  opt: tf.Optimizer,
  steps: number,
): Promise<{ weights: readonly [number[], number[]]; slots: { name: string; values: number[] }[] }> {
  const wv = rand([5, 3], -1, 1);
  const bv = rand([3], -0.1, 0.1);
  const xv = rand([8, 5]);
  const yv = randInt([8, 3], 0, 1);
  const w = tf.variable(tf.tensor(wv, [5, 3]), true, `w${rng.int(1e9)}`);
  const b = tf.variable(tf.tensor(bv, [3]), true, `b${rng.int(1e9)}`);
  const x = tf.tensor(xv, [8, 5]);
  const y = tf.tensor(yv, [8, 3]);
  for (let s = 0; s < steps; s++) {
    opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar, false, [w, b]);
  }
  const slots = await opt.getWeights();
  const out = {
    weights: [Array.from(w.dataSync()), Array.from(b.dataSync())] as const,
    slots: slots.map((t) => ({
      name: t.name.replace(/^[wb]\d+/, (m) => m.charAt(0)),
      values: Array.from(t.tensor.dataSync()),
    })),
  };
  tf.dispose([w, b, x, y]);
  return out;
}

function assertClose(a: number[], b: number[], what: string, rtol = 1e-5, atol = 1e-7): void {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) => {
    const w = at(b, i, what);
    assert.ok(Math.abs(v - w) <= atol + rtol * Math.abs(w), `${what}[${i}]: fused ${v} vs stock ${w}`);
  });
}

const { fusedAdam, fusedRmsprop } = await import('../engine/ops/optimizers.js');

const OPTIMIZERS: [string, () => tf.Optimizer, () => tf.Optimizer][] = [
  ['Adam(2e-4, 0.5)', () => fusedAdam(2e-4, 0.5), () => tf.train.adam(2e-4, 0.5)],
  ['Adam defaults', () => fusedAdam(), () => tf.train.adam()],
  ['RMSprop(1e-4)', () => fusedRmsprop(1e-4), () => tf.train.rmsprop(1e-4)],
  ['RMSprop momentum', () => fusedRmsprop(1e-3, 0.8, 0.9), () => tf.train.rmsprop(1e-3, 0.8, 0.9)],
  [
    'RMSprop centered',
    () => fusedRmsprop(1e-3, 0.9, 0.5, 1e-6, true),
    () => tf.train.rmsprop(1e-3, 0.9, 0.5, 1e-6, true),
  ],
];

for (const [label, fused, stock] of OPTIMIZERS) {
  test(`fused ${label} follows the stock optimizer: weights and slots after 4 steps`, async () => {
    for (const backend of ['cpu', FAST]) {
      await tf.setBackend(backend);
      // Same data for both runs: each draws from its own generator with the same seed.
      const seed = rng.int(1e9);
      const key = label.startsWith('Adam') ? 'FusedAdam' : 'FusedRMSProp';
      const fusedBefore = pathCounts.get(key)?.fast ?? 0;
      const a = await withRng(createRng(seed, 'opt'), () => trainWith(fused(), 4));
      assert.equal((pathCounts.get(key)?.fast ?? 0) - fusedBefore, 4, `${label}: the fused update ran every step`);
      const b = await withRng(createRng(seed, 'opt'), () => trainWith(stock(), 4));
      assertClose(a.weights[0], b.weights[0], `${label} w on ${backend}`);
      assertClose(a.weights[1], b.weights[1], `${label} b on ${backend}`);
      assert.deepEqual(
        a.slots.map((s) => s.name),
        b.slots.map((s) => s.name),
      );
      a.slots.forEach((s, k) =>
        assertClose(s.values, at(b.slots, k, 'slots').values, `${label} slot ${s.name}`, 1e-4, 1e-9),
      );
    }
    await tf.setBackend('cpu');
  });
}

test("fused Adam leaves tensors that share a weight's buffer untouched", async () => {
  await tf.setBackend(FAST);
  const w = tf.variable(tf.tensor([1, 2, 3]), true, 'shared-w');
  const snapshot = tf.clone(w);
  const before = Array.from(snapshot.dataSync());
  const opt = fusedAdam(0.1);
  opt.minimize(() => w.square().sum() as tf.Scalar, false, [w]);
  assert.deepEqual(Array.from(snapshot.dataSync()), before);
  assert.notDeepEqual(Array.from(w.dataSync()), before);
  tf.dispose([w, snapshot]);
  opt.dispose();
  await tf.setBackend('cpu');
});

const { batchNormTrain } = await import('../engine/index.js');
const { fusedAdamUpdate } = await import('../engine/ops/optimizers.js');

test('batchNormTrain: fused forward and gradients match moments + batchNorm on the cpu backend', async () => {
  for (const xs of [
    [3, 4, 5, 6],
    [8, 6],
    [1, 2, 3, 64],
  ]) {
    const C = at(xs, xs.length - 1);
    const x = rand(xs, -3, 3).map((v, i) => v + (i % C)); // channel offsets: a mean far from 0
    const g = rand([C], 0.5, 1.5);
    const b = rand([C], -0.5, 0.5);
    const w = rand(xs);
    const what = `batchNormTrain ${JSON.stringify(xs)}`;
    await compare(
      `${what} forward`,
      () => {
        const r = batchNormTrain(tf.tensor(x, xs), tf.tensor1d(g), tf.tensor1d(b), 1e-5);
        return [r.y, r.mean, r.variance];
      },
      { kernel: 'PosterStudioBatchNormTrain', expect: 'fast', rtol: 1e-4, atol: 1e-5 },
    );
    await compare(
      `${what} gradients`,
      () =>
        tf.grads((xt: Tensor, gt: Tensor, bt: Tensor) =>
          batchNormTrain(xt, gt, bt, 1e-5).y.mul(tf.tensor(w, xs)).sum(),
        )([tf.tensor(x, xs), tf.tensor1d(g), tf.tensor1d(b)]),
      { kernel: 'PosterStudioBatchNormTrainGrad', expect: 'fast', rtol: 1e-3, atol: 1e-5 },
    );
  }
});

test('batchNormTrain with a fused ReLU / leaky ReLU: the JS kernels match batchNorm + activation on the cpu backend', async () => {
  for (const xs of [
    [3, 4, 5, 6],
    [1, 2, 3, 64],
  ]) {
    for (const act of ['relu', 'leakyrelu'] as const) {
      const C = at(xs, xs.length - 1);
      const x = rand(xs, -3, 3).map((v, i) => v + (i % C));
      const g = rand([C], 0.5, 1.5);
      const b = rand([C], -0.5, 0.5);
      const w = rand(xs);
      const what = `batchNormTrain ${act} ${JSON.stringify(xs)}`;
      const bn = (xt: Tensor, gt: Tensor, bt: Tensor) =>
        batchNormTrain(xt, gt, bt, 1e-5, { activation: act, alpha: 0.2 });
      await compare(
        `${what} forward`,
        () => {
          const r = bn(tf.tensor(x, xs), tf.tensor1d(g), tf.tensor1d(b));
          return [r.y, r.mean, r.variance];
        },
        { kernel: 'PosterStudioBatchNormTrain', expect: 'fast', rtol: 1e-4, atol: 1e-5 },
      );
      await compare(
        `${what} gradients`,
        () =>
          tf.grads((xt: Tensor, gt: Tensor, bt: Tensor) => bn(xt, gt, bt).y.mul(tf.tensor(w, xs)).sum())([
            tf.tensor(x, xs),
            tf.tensor1d(g),
            tf.tensor1d(b),
          ]),
        { kernel: 'PosterStudioBatchNormTrainGrad', expect: 'fast', rtol: 1e-3, atol: 1e-5 },
      );
    }
  }
});

test('fusedAdamUpdate follows the TF1 Adam step written with tensor ops', async () => {
  await tf.setBackend(FAST);
  const shape = [4, 5];
  const init = rand(shape);
  const steps = [rand(shape), rand(shape), rand(shape)];
  const run = (fused: boolean): number[][] => {
    const x = tf.variable(tf.tensor(init, shape), true, `adam-x-${fused}`);
    const m = tf.variable(tf.zeros(shape), false);
    const v = tf.variable(tf.zeros(shape), false);
    steps.forEach((gv, k) => {
      const lr = (2e-4 * Math.sqrt(1 - 0.999 ** (k + 1))) / (1 - 0.5 ** (k + 1));
      tf.tidy(() => {
        const g = tf.tensor(gv, shape);
        if (fused) {
          assert.ok(fusedAdamUpdate({ value: x, m, v, grad: g, lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 }));
        } else {
          m.assign(tf.add(tf.mul(m, 0.5), tf.mul(g, 0.5)));
          v.assign(tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 1 - 0.999)));
          x.assign(tf.sub(x, tf.mul(tf.div(m, tf.add(tf.sqrt(v), 1e-8)), lr)));
        }
      });
    });
    const out = [x, m, v].map((t) => Array.from(t.dataSync()));
    tf.dispose([x, m, v]);
    return out;
  };
  const a = run(true);
  const b = run(false);
  ['x', 'm', 'v'].forEach((n, k) => assertClose(at(a, k), at(b, k), `fused Adam ${n}`, 1e-5, 1e-9));
  await tf.setBackend('cpu');
});

test('batchNormTrain leaves no tensors behind when gamma and beta get no gradient', async () => {
  await tf.setBackend(FAST);
  const xs = [2, 3, 3, 4];
  const x = tf.tensor(rand(xs), xs);
  const gamma = tf.ones([4]);
  const beta = tf.zeros([4]);
  const before = tf.memory().numTensors;
  const dx = tf.grad((t: Tensor) => batchNormTrain(t, gamma, beta, 1e-5).y.square().sum())(x);
  assert.deepEqual(dx.shape, xs);
  dx.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, gamma, beta]);
  await tf.setBackend('cpu');
});

test("ReLU and leaky ReLU gradients: the fused kernels match tfjs's formulas, NaN and zeros included", async () => {
  const shape = [4, 5, 6];
  const x = rand(shape, -2, 2);
  x[0] = 0;
  x[1] = NaN;
  x[2] = -0;
  const dy = rand(shape, -3, 3);
  const cases: [string, string, (t: Tensor) => Tensor][] = [
    ['relu', 'PosterStudioReluGrad', (t) => tf.relu(t)],
    ['leakyRelu', 'PosterStudioLeakyReluGrad', (t) => tf.leakyRelu(t, 0.2)],
    ['leakyRelu 0.01', 'PosterStudioLeakyReluGrad', (t) => tf.leakyRelu(t, 0.01)],
  ];
  for (const [what, kernelName, f] of cases) {
    const build = () => tf.grad((t: Tensor) => f(t).mul(tf.tensor(dy, shape)).sum())(tf.tensor(x, shape));
    await compare(`${what} gradient`, build, { kernel: kernelName, expect: 'fast' });
  }
  // The override must leave the other backends on tfjs's own formula.
  await tf.setBackend('cpu');
  const before = pathCounts.get('PosterStudioReluGrad')?.fast ?? 0;
  tf.tidy(() => tf.grad((t: Tensor) => tf.relu(t).sum())(tf.tensor(x, shape)));
  assert.equal(pathCounts.get('PosterStudioReluGrad')?.fast ?? 0, before);
});
