/**
 * The C++ element-wise, reduction and pooling kernels (engine/native/elementwise.ts) against the
 * tfjs cpu backend: awkward shapes, special values (NaN, infinities, ties), sizes that split over
 * threads, every broadcast the fast path claims, and inputs it must hand back to the earlier kernel.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { tf } from '../engine/tf.js';
import { nativeAddon, registerNativeBackend } from '../engine/native/backend.js';
import { nativeCounts, type ElementwiseAddon } from '../engine/native/elementwise.js';
import { LEAKY_RELU_GRAD, RELU_GRAD } from '../engine/kernels/activation-grads.js';
import { createRng } from '../src/core/random.js';
import { at } from './helpers/at.js';

const rng = createRng(11, 'native-elementwise-test');
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 100, -100, 20, -20, 0.5, -0.5, 3e38, -3e38];

/** Values in [lo, hi), with the special values sprinkled in when `special`. */
function values(n: number, lo = -3, hi = 3, special = false): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.next();
  if (special) for (let i = 0; i < n; i += 7) v[i] = at(SPECIAL, (i / 7) % SPECIAL.length);
  return v;
}
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

type Shape4 = [number, number, number, number];
interface Out {
  shape: number[];
  dtype: string;
  values: Float32Array;
}

async function run(backend: string, fn: () => tf.Tensor): Promise<Out> {
  await tf.setBackend(backend);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  const t = tf.tidy(fn);
  const out = { shape: t.shape, dtype: t.dtype, values: Float32Array.from(t.dataSync() as ArrayLike<number>) };
  t.dispose();
  return out;
}

/**
 * fn on both backends: same shape/dtype, values within rtol (relative, per element) or atol;
 * NaN where the cpu gives NaN, equal infinities. `path`: 'native' (the C++ kernel must have run)
 * or 'previous' (it must have declined).
 */
async function compare(
  what: string,
  kernel: string,
  fn: () => tf.Tensor,
  opts: { rtol?: number; atol?: number; path?: 'native' | 'previous' } = {},
): Promise<void> {
  const want = await run('cpu', fn);
  const before = nativeCounts.get(kernel) ?? 0;
  const got = await run('native', fn);
  const ran = (nativeCounts.get(kernel) ?? 0) > before;
  assert.equal(
    ran,
    (opts.path ?? 'native') === 'native',
    `${what}: expected the ${opts.path ?? 'native'} path of ${kernel}`,
  );
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  const rtol = opts.rtol ?? 0;
  const atol = opts.atol ?? 0;
  for (let i = 0; i < want.values.length; i++) {
    const a = at(got.values, i, what);
    const b = at(want.values, i, what);
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}[${i}]: ${a} vs cpu ${b}`);
    } else {
      assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${i}]: ${a} vs cpu ${b}`);
    }
  }
}

test('the native addon is built and loads', () => {
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
});

describe('native element-wise kernels', () => {
  before(() => {
    registerNativeBackend();
  });

  // 101400 elements: above the size where the kernels split over threads.
  const SHAPES = [[3, 5, 7, 3], [1, 64], [], [2, 130, 130, 3]];

  test('unary activations and math match the cpu backend, special values included', async () => {
    const exact: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['Relu', (x) => tf.relu(x)],
      ['Relu6', (x) => tf.relu6(x)],
      ['LeakyRelu', (x) => tf.leakyRelu(x, 0.2)],
      ['Square', (x) => tf.square(x)],
      ['Neg', (x) => tf.neg(x)],
      ['Abs', (x) => tf.abs(x)],
      ['Floor', (x) => tf.floor(x)],
      ['Step', (x) => tf.step(x, 0.3)],
    ];
    // Polynomial approximations in float: within a few float32 ulps of Math's double results.
    const approx: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['Tanh', (x) => tf.tanh(x)],
      ['Sigmoid', (x) => tf.sigmoid(x)],
      ['Exp', (x) => tf.exp(x)],
    ];
    for (const shape of SHAPES) {
      const data = values(size(shape), -3, 3, true);
      for (const [name, f] of exact) await compare(`${name} ${shape}`, name, () => f(tf.tensor(data, shape)));
      for (const [name, f] of approx) {
        await compare(`${name} ${shape}`, name, () => f(tf.tensor(data, shape)), { rtol: 5e-7, atol: 1e-37 });
      }
    }
    // Floor around and beyond 2^23, where float already holds integers only.
    const big = Float32Array.from([8388607.5, -8388607.5, 8388608, -8388609, 1.5e10, -1.5e10, -0.5, -1, 2.9999998]);
    await compare('Floor near 2^23', 'Floor', () => tf.floor(tf.tensor(big)));
    // Exp across its whole range, denormal results included.
    const sweep = Float32Array.from({ length: 4001 }, (_, i) => -104 + i * 0.048);
    await compare('Exp sweep', 'Exp', () => tf.exp(tf.tensor(sweep)), { rtol: 5e-7, atol: 1e-44 });
    await compare('Tanh sweep', 'Tanh', () => tf.tanh(tf.tensor(sweep).div(10)), { rtol: 5e-7 });
  });

  test('unary ops hand int32 to the earlier kernel', async () => {
    await compare('Abs int32', 'Abs', () => tf.abs(tf.tensor([-3, 4, -5], [3], 'int32')), { path: 'previous' });
  });

  test('binary ops: same shape, scalars and channel broadcasts in either order', async () => {
    const cases: [number[], number[]][] = [
      [
        [3, 5, 7, 3],
        [3, 5, 7, 3],
      ],
      [
        [2, 130, 130, 3],
        [2, 130, 130, 3],
      ],
      [[4, 9, 6, 3], [3]],
      [[3], [4, 9, 6, 3]],
      [[2, 130, 131, 3], [3]], // many short rows: the tiled path, with a remainder
      [[2, 33, 20, 64], [64]],
      [[64], [2, 33, 20, 64]],
      [[1, 5, 5, 1], [1]],
      [[5, 7], []],
      [[], [5, 7]],
      [
        [6, 1],
        [6, 9],
      ], // one value per row
      [
        [6, 9],
        [6, 1],
      ],
      [
        [1, 1, 1, 7],
        [2, 3, 4, 7],
      ],
      [[], []],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['Add', tf.add],
      ['Sub', tf.sub],
      ['Multiply', tf.mul],
      ['RealDiv', tf.div],
      ['SquaredDifference', tf.squaredDifference],
    ];
    for (const [sa, sb] of cases) {
      const da = values(size(sa), -3, 3, true);
      const db = values(size(sb), -3, 3, true);
      for (const [name, f] of ops) {
        await compare(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, name, () =>
          f(tf.tensor(da, sa), tf.tensor(db, sb)),
        );
      }
    }
  });

  test('binary ops hand other broadcasts and dtypes to the earlier kernel', async () => {
    const a = values(8);
    const b = values(3);
    await compare('Add [2,1,4]+[1,3,1]', 'Add', () => tf.add(tf.tensor(a, [2, 1, 4]), tf.tensor(b, [1, 3, 1])), {
      path: 'previous',
    });
    await compare('Add int32', 'Add', () => tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4], [1], 'int32')), {
      path: 'previous',
    });
  });

  test('ReLU and leaky ReLU gradients match the cpu backend, NaN semantics included', async () => {
    for (const shape of [[2, 7, 5, 3], [2, 130, 130, 3], [1]]) {
      const data = values(size(shape), -3, 3, true);
      const dyData = values(size(shape), -2, 2, true);
      const grad = (act: (x: tf.Tensor) => tf.Tensor) => () => {
        const x = tf.tensor(data, shape);
        const dy = tf.tensor(dyData, shape);
        return tf.grad((t: tf.Tensor) => act(t).mul(dy).sum())(x);
      };
      // The cpu runs tfjs's own formulas (dy * step(x), where(x > 0, dy, alpha * dy)).
      await compare(
        `relu grad ${shape}`,
        RELU_GRAD,
        grad((t) => tf.relu(t)),
      );
      await compare(
        `leaky relu grad ${shape}`,
        LEAKY_RELU_GRAD,
        grad((t) => tf.leakyRelu(t, 0.3)),
      );
    }
  });

  test('activation gradients agree with finite differences', async () => {
    await tf.setBackend('native');
    // Away from 0 so the kinks do not sit inside the difference step.
    const xs = Float32Array.from(values(60, 0.1, 2), (v, i) => (i % 2 ? -v : v));
    const w = values(60, -1, 1);
    for (const [name, act] of [
      ['relu', (t: tf.Tensor) => tf.relu(t)],
      ['leakyRelu', (t: tf.Tensor) => tf.leakyRelu(t, 0.2)],
    ] as const) {
      const f = (v: Float32Array): number =>
        at(
          tf.tidy(() => act(tf.tensor(v)).mul(tf.tensor(w)).sum().dataSync()),
          0,
        );
      const g = tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => act(t).mul(tf.tensor(w)).sum())(tf.tensor(xs))
          .dataSync(),
      );
      for (let i = 0; i < xs.length; i++) {
        const h = 1e-2;
        const p = Float32Array.from(xs);
        const m = Float32Array.from(xs);
        p[i] = at(p, i) + h;
        m[i] = at(m, i) - h;
        const fd = (f(p) - f(m)) / (2 * h);
        const gi = at(g, i);
        assert.ok(Math.abs(fd - gi) < 1e-3, `${name} grad[${i}]: ${gi} vs finite difference ${fd}`);
      }
    }
  });

  test('Sum and Mean over leading axes, all axes, trailing and middle blocks', async () => {
    const cases: [number[], number | number[], boolean][] = [
      [[5, 7, 3, 3], [0, 1, 2], false], // bias gradient, 3 channels
      [[2, 9, 11, 64], [0, 1, 2], false], // 64 channels
      [[2, 200, 200, 3], [0, 1, 2], false], // split over threads, tiled rows
      [[3, 40, 30, 32], [0, 1, 2], true],
      [[4, 5, 6, 3], [1, 2], false],
      [[6, 1001], -1, false], // contiguous rows
      [[1, 70001], [0, 1], false], // all of a large vector
      [[7, 3, 5], [0, 1, 2], true],
      [[5], 0, false],
      [[3, 1, 4], 1, false], // a unit axis: nothing to add
      [[40, 2000], 0, false],
    ];
    for (const [shape, axis, keep] of cases) {
      const data = values(size(shape), -3, 3);
      for (const [name, f] of [
        ['Sum', tf.sum],
        ['Mean', tf.mean],
      ] as const) {
        await compare(`${name} ${shape} axis ${axis}`, name, () => f(tf.tensor(data, shape), axis, keep), {
          rtol: 1e-6,
          atol: 1e-6,
        });
      }
    }
  });

  test('Sum of int32 and empty tensors goes to the earlier kernel', async () => {
    await compare('Sum int32', 'Sum', () => tf.sum(tf.tensor([1, 2, 3], [3], 'int32')), { path: 'previous' });
    await compare('Mean of nothing', 'Mean', () => tf.mean(tf.zeros([0, 3]), 0), { path: 'previous' });
  });

  /** Integers in a small range, so windows hold ties; plus NaN and -Infinity windows. */
  function poolInput(shape: Shape4): Float32Array {
    const v = Float32Array.from({ length: size(shape) }, () => Math.floor(rng.next() * 4));
    for (let i = 0; i < v.length; i += 13) v[i] = NaN;
    for (let i = 5; i < v.length; i += 17) v[i] = -Infinity;
    return v;
  }

  test('MaxPool 2x2 stride 2 and its gradient match the cpu backend, ties and NaN included', async () => {
    const shapes: Shape4[] = [
      [2, 9, 7, 3],
      [1, 6, 8, 64],
      [1, 2, 2, 1],
      [3, 11, 10, 5],
      [2, 159, 104, 4],
    ];
    for (const shape of shapes) {
      const x = poolInput(shape);
      const [, H, W, C] = shape;
      const dyShape: Shape4 = [shape[0], Math.floor(H / 2), Math.floor(W / 2), C];
      const dy = values(size(dyShape), -2, 2);
      await compare(`MaxPool ${shape}`, 'MaxPool', () => tf.maxPool(tf.tensor(x, shape) as tf.Tensor4D, 2, 2, 'valid'));
      await compare(`MaxPoolGrad ${shape}`, 'MaxPoolGrad', () =>
        tf.grad((t: tf.Tensor) =>
          tf
            .maxPool(t as tf.Tensor4D, 2, 2, 'valid')
            .mul(tf.tensor(dy, dyShape))
            .sum(),
        )(tf.tensor(x, shape)),
      );
    }
    // An all-NaN / all -Infinity window: -Infinity out, no gradient anywhere in it.
    const odd = Float32Array.from([NaN, NaN, NaN, NaN, -Infinity, -Infinity, -Infinity, -Infinity]);
    await compare('MaxPool empty windows', 'MaxPool', () =>
      tf.maxPool(tf.tensor(odd, [1, 2, 4, 1]) as tf.Tensor4D, 2, 2, 'valid'),
    );
    await compare('MaxPoolGrad empty windows', 'MaxPoolGrad', () =>
      tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(tf.tensor(odd, [1, 2, 4, 1])),
    );
  });

  test('the MaxPool gradient routes to the first maximum and agrees with finite differences', async () => {
    await tf.setBackend('native');
    const shape: Shape4 = [1, 4, 6, 2];
    // Distinct values (finite differences need a unique maximum per window).
    const x = Float32Array.from({ length: size(shape) }, (_, i) => ((i * 37) % 48) / 8 - 3);
    const f = (v: Float32Array): number =>
      at(
        tf.tidy(() =>
          tf
            .maxPool(tf.tensor(v, shape) as tf.Tensor4D, 2, 2, 'valid')
            .square()
            .sum()
            .dataSync(),
        ),
        0,
      );
    const g = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) =>
          tf
            .maxPool(t as tf.Tensor4D, 2, 2, 'valid')
            .square()
            .sum(),
        )(tf.tensor(x, shape))
        .dataSync(),
    );
    for (let i = 0; i < x.length; i++) {
      const p = Float32Array.from(x);
      const m = Float32Array.from(x);
      p[i] = at(p, i) + 1e-2;
      m[i] = at(m, i) - 1e-2;
      assert.ok(Math.abs((f(p) - f(m)) / 2e-2 - at(g, i)) < 2e-2, `MaxPool grad[${i}]`);
    }
    // A window of four equal values: all of dy goes to its top-left element.
    const ties = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) =>
          tf
            .maxPool(t as tf.Tensor4D, 2, 2, 'valid')
            .mul(5)
            .sum(),
        )(tf.ones([1, 2, 2, 1]))
        .dataSync(),
    );
    assert.deepEqual(Array.from(ties), [5, 0, 0, 0]);
  });

  test('other pooling windows go to the earlier kernel', async () => {
    const shape: Shape4 = [2, 7, 6, 3];
    const x = poolInput(shape);
    await compare('MaxPool 3x3 same', 'MaxPool', () => tf.maxPool(tf.tensor(x, shape) as tf.Tensor4D, 3, 1, 'same'), {
      path: 'previous',
    });
    await compare(
      'MaxPool 2x2 stride 1',
      'MaxPool',
      () => tf.maxPool(tf.tensor(x, shape) as tf.Tensor4D, 2, 1, 'valid'),
      { path: 'previous' },
    );
  });
});

test('element-wise bindings: sizes whose product overflows throw a JS error, not a crash', () => {
  const addon = nativeAddon() as unknown as ElementwiseAddon & {
    ewBinary(
      op: number,
      a: Float32Array,
      b: Float32Array,
      out: Float32Array,
      M: number,
      C: number,
      sa0: number,
      sa1: number,
      sb0: number,
      sb1: number,
    ): void;
    ewMaxPool2x2(
      x: Float32Array,
      y: Float32Array,
      N: number,
      H: number,
      W: number,
      C: number,
      OH: number,
      OW: number,
    ): void;
  };
  assert.ok(addon, 'the native addon is unavailable');
  const f = (n: number): Float32Array => new Float32Array(n);
  // 2^21 cubed is 2^63: it wraps in int64, and a length check on the wrapped value would pass.
  assert.throws(() => addon.ewSum(f(4), f(4), 2 ** 21, 2 ** 21, 2 ** 21, 1), /too large/);
  assert.throws(() => addon.ewBinary(0, f(4), f(4), f(4), 2 ** 39, 2 ** 39, 0, 0, 0, 0), /too large/);
  assert.throws(() => addon.ewMaxPool2x2(f(4), f(4), 2 ** 30, 2 ** 30, 2 ** 30, 2 ** 30, 1, 1), /too large/);
  assert.throws(() => addon.ewSum(f(4), f(4), 2 ** 62, 1, 1, 1), /integer size/);
  assert.throws(() => addon.ewSum(f(4), f(4), 1.5, 1, 1, 1), /integer size/);
});
