/**
 * The native engine's kernels against the tfjs cpu backend and against finite differences.
 * The addon is part of the product: when it did not build, these tests fail (they do not skip).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tf } from '../engine/tf.js';
import { nativeAddon, registerNativeBackend } from '../engine/native/backend.js';
import { createRng } from '../src/core/random.js';
import { at } from './helpers/at.js';
import { on } from './helpers/on-backend.js';

type Pad = 'same' | 'valid';
const rng = createRng(5, 'native-kernels-test');

function rand(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() * 2 - 1;
  return tf.tensor(v, shape);
}

function assertClose(
  got: { values: Float32Array; shape: number[] },
  want: { values: Float32Array; shape: number[] },
  what: string,
): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 1;
  for (const v of want.values) scale = Math.max(scale, Math.abs(v));
  let worst = 0,
    worstAt = -1;
  for (let i = 0; i < want.values.length; i++) {
    const d = Math.abs(at(got.values, i, what) - at(want.values, i, what));
    if (!(d <= worst)) {
      worst = d;
      worstAt = i;
    }
  }
  assert.ok(
    worst <= 2e-5 * scale * 10,
    `${what}: max difference ${worst} at ${worstAt} (native ${got.values[worstAt]}, cpu ${want.values[worstAt]})`,
  );
}

async function compare(what: string, fn: () => tf.Tensor): Promise<void> {
  assertClose(await on('native', fn), await on('cpu', fn), what);
}

/** Forward, input gradient (as conv2dTranspose) and filter gradient of one convolution. */
function convOps(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor, s: number, pad: Pad): [string, () => tf.Tensor][] {
  const xShape = x.shape as [number, number, number, number];
  return [
    ['forward', () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad)],
    ['input gradient', () => tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, xShape, s, pad)],
    [
      'filter gradient',
      () =>
        tf.grad((f: tf.Tensor) =>
          tf
            .conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, pad)
            .mul(dy)
            .sum(),
        )(w),
    ],
  ];
}

/**
 * fn on cpu, then on native with the engine switch `name` set to `off` and to `on` (read per
 * call by the addon): both native results must match cpu; with `mustDiffer` they must also differ
 * from each other (identical bits would mean the switch chose nothing). The variable is restored.
 */
async function switchMatchesCpu(
  name: string,
  off: string,
  on_: string,
  what: string,
  fn: () => tf.Tensor,
  mustDiffer: boolean,
): Promise<void> {
  const before = process.env[name];
  try {
    const want = await on('cpu', fn);
    process.env[name] = off;
    const a = await on('native', fn);
    process.env[name] = on_;
    const b = await on('native', fn);
    assertClose(a, want, `${name}=${off} ${what}`);
    assertClose(b, want, `${name}=${on_} ${what}`);
    if (mustDiffer)
      assert.ok(
        a.values.some((v, i) => v !== b.values[i]),
        `${what}: ${name}=${on_} did not change the algorithm`,
      );
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

interface ConvCase {
  x: [number, number, number, number];
  k: number;
  co: number;
  s: number;
  pad: Pad;
}

// Stride 1 and 2, same and valid, odd and 2:3 sizes, batch 1, 3 and 64 channels.
const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 5, 3], k: 3, co: 4, s: 1, pad: 'same' },
  { x: [1, 9, 6, 64], k: 3, co: 8, s: 2, pad: 'same' },
  { x: [3, 8, 8, 5], k: 5, co: 7, s: 2, pad: 'valid' },
  { x: [2, 12, 8, 3], k: 5, co: 64, s: 2, pad: 'same' },
  { x: [1, 11, 7, 64], k: 3, co: 64, s: 1, pad: 'valid' },
  { x: [2, 6, 9, 17], k: 2, co: 19, s: 2, pad: 'same' },
  { x: [1, 1, 1, 3], k: 1, co: 2, s: 1, pad: 'valid' },
  // Enough output pixels for several row blocks (shared packed filter, split columns).
  { x: [2, 13, 11, 5], k: 3, co: 37, s: 1, pad: 'same' },
  { x: [3, 20, 14, 24], k: 5, co: 40, s: 2, pad: 'same' },
  // The direct kernels for 1-4 input channels (native/impl_smallc.inc): row tails of 6 (forward)
  // and 4 (input gradient) pixels, whole input-gradient tiles in both stride phases, an image
  // narrower than the kernel, one channel, channel counts that are not whole register tiles.
  { x: [2, 9, 13, 3], k: 3, co: 32, s: 1, pad: 'same' },
  { x: [1, 10, 21, 3], k: 5, co: 64, s: 2, pad: 'same' },
  { x: [1, 11, 9, 3], k: 5, co: 16, s: 2, pad: 'valid' },
  { x: [1, 5, 3, 3], k: 5, co: 8, s: 2, pad: 'same' },
  { x: [2, 7, 10, 1], k: 5, co: 16, s: 1, pad: 'same' },
  { x: [1, 6, 8, 4], k: 3, co: 24, s: 1, pad: 'valid' },
  { x: [2, 7, 8, 3], k: 2, co: 16, s: 3, pad: 'same' }, // stride > kernel: input pixels no tap reaches
  // Rows of 48+ output pixels: the filter gradient's row-buffer kernel for any channel count.
  { x: [1, 5, 50, 32], k: 3, co: 32, s: 1, pad: 'valid' },
  { x: [2, 4, 49, 16], k: 3, co: 16, s: 1, pad: 'same' },
  { x: [2, 17, 18, 16], k: 5, co: 32, s: 2, pad: 'same' }, // forward row buffers, many channels, stride 2
  // Filters of 512+ taps on rows of 8+ pixels: AVX-512's 12-pixel forward tiles (impl_smallc.inc)
  // with a ragged last row group and a part-width column panel; then the same tiles in the input
  // gradient, whose flipped sub-filter has 9 x 64 taps.
  { x: [1, 10, 20, 64], k: 3, co: 40, s: 1, pad: 'same' },
  { x: [1, 9, 18, 16], k: 3, co: 64, s: 1, pad: 'same' },
  // Winograd F(4x4, 3x3) (native/impl_winograd.inc): outputs that are not whole 4x4 tiles (7x5,
  // 1x1, 9x13), channels that are not whole vectors or register tiles (9, 17, 33, 65), batch > 1.
  { x: [2, 7, 5, 9], k: 3, co: 17, s: 1, pad: 'same' },
  { x: [3, 9, 7, 16], k: 3, co: 9, s: 1, pad: 'valid' },
  { x: [1, 3, 3, 33], k: 3, co: 65, s: 1, pad: 'valid' },
  { x: [2, 11, 15, 65], k: 3, co: 33, s: 1, pad: 'valid' },
  { x: [2, 9, 13, 32], k: 3, co: 64, s: 1, pad: 'same' },
  // Maps of 4-6 pixels a side under 5x5 taps, where a quarter of the products read padding: the
  // GEMMs run on pixel-major rows and skip those taps (impl_kernels.inc); batches that split the
  // 6-row panels across pixels, batch 1, and 6 whole panels per pixel.
  { x: [7, 8, 8, 40], k: 5, co: 48, s: 2, pad: 'same' },
  { x: [1, 7, 9, 33], k: 5, co: 16, s: 2, pad: 'same' },
  { x: [12, 12, 8, 32], k: 5, co: 64, s: 2, pad: 'same' },
  // The filter gradient tap by tap over the output pixels each tap reaches (impl_kernels.inc):
  // more channels than one row block of the GEMM (150 > 144), and a 1x1 image whose outer taps
  // reach no pixel at all (their rows of dW must be 0).
  { x: [2, 5, 4, 150], k: 5, co: 40, s: 2, pad: 'same' },
  { x: [3, 1, 1, 40], k: 5, co: 16, s: 1, pad: 'same' },
  // The input gradient's stride phases written straight into dx by the row-buffer kernel (rows of
  // 8+ pixels): odd sizes (phases of 9 and 10 pixels a row), batch > 1, channels that are not
  // whole vectors, 12-pixel tiles crossing the end of a phase's row (9 x 64 taps), valid padding.
  { x: [2, 17, 19, 40], k: 5, co: 24, s: 2, pad: 'same' },
  { x: [1, 16, 18, 33], k: 5, co: 64, s: 2, pad: 'same' },
  { x: [2, 20, 17, 32], k: 3, co: 40, s: 2, pad: 'valid' },
  // The input gradient's phase split with many channels: stride above the kernel (pixels no tap
  // reaches must be 0, the other phases' copies leave them alone).
  { x: [2, 7, 8, 40], k: 2, co: 16, s: 3, pad: 'same' },
];

const SIMD_PATHS = ['avx512', 'avx2', 'portable'] as const;
const SUPPORTED: readonly string[] = nativeAddon()?.info().supported ?? [];

/**
 * One test per SIMD path this CPU runs, with the addon switched to that path (the choice is per
 * call, so one process covers them all); a path the CPU lacks gets one test saying so instead.
 */
function testEachPath(name: string, fn: () => Promise<void>): void {
  for (const simd of SIMD_PATHS) {
    if (!SUPPORTED.includes(simd)) continue;
    test(`[${simd}] ${name}`, async () => {
      const addon = nativeAddon()!;
      const before = addon.info().simd;
      addon.setSimd(simd);
      try {
        await fn();
      } finally {
        addon.setSimd(before);
      }
    });
  }
}

for (const simd of SIMD_PATHS) {
  if (SUPPORTED.length > 0 && !SUPPORTED.includes(simd)) {
    test(`[${simd}] NOT TESTED: this CPU lacks ${simd} (it runs ${SUPPORTED.join(', ')})`, (t) => {
      t.diagnostic(`the ${simd} kernels were not run on this machine`);
      assert.throws(() => nativeAddon()!.setSimd(simd), /cannot run/);
    });
  }
}

test('the native addon is built and loads (npm install builds it; it is part of the product)', () => {
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
});

describe('native engine', () => {
  before(() => {
    const status = registerNativeBackend();
    assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
  });

  test('registers every cpu kernel under native, idempotently', () => {
    const again = registerNativeBackend();
    assert.equal(again.ok, true);
    if (again.ok) {
      assert.match(again.simd, /^(avx512|avx2|portable)$/);
      assert.ok(again.threads >= 1);
    }
    const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
    for (const k of tf.getKernelsForBackend('cpu')) assert.ok(native.has(k.kernelName), `native lacks ${k.kernelName}`);
  });

  for (const c of CONV_CASES) {
    const label = `${c.x.join('x')} k${c.k} co${c.co} s${c.s} ${c.pad}`;
    testEachPath(`conv2d forward and both gradients match cpu: ${label}`, async () => {
      const x = rand(c.x),
        w = rand([c.k, c.k, c.x[3], c.co]);
      const y = await on('cpu', () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad));
      const dy = rand(y.shape);
      await compare(`forward ${label}`, () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad));
      await compare(`input gradient ${label}`, () =>
        tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, c.x, c.s, c.pad),
      );
      await compare(`filter gradient ${label}`, () =>
        tf.grad((f: tf.Tensor) =>
          tf
            .conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad)
            .mul(dy)
            .sum(),
        )(w),
      );
      tf.dispose([x, w, dy]);
    });
  }

  test('the native kernels, not the cpu fallbacks, run these ops', async () => {
    const addon = nativeAddon() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const names = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'matmul'];
    const calls: Record<string, number> = {};
    const originals = names.map((n) => {
      const f = addon[n];
      assert.ok(f, `addon.${n} is missing`);
      return { n, f };
    });
    for (const { n, f } of originals) {
      calls[n] = 0;
      addon[n] = (...args: unknown[]) => {
        calls[n] = (calls[n] ?? 0) + 1;
        return f(...args);
      };
    }
    try {
      const x = rand([2, 9, 6, 16]),
        w = rand([3, 3, 16, 8]),
        b = rand([8]);
      await on('native', () =>
        at(
          tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same').sum())([
            x,
            w,
          ]),
          0,
        ),
      );
      await on('native', () =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias: b,
          activation: 'relu',
        }),
      );
      await on('native', () => tf.matMul(rand([4, 5]), rand([5, 3])));
    } finally {
      for (const { n, f } of originals) addon[n] = f;
    }
    for (const n of names)
      assert.ok((calls[n] ?? 0) >= 1, `addon.${n} was not called (calls: ${JSON.stringify(calls)})`);
  });

  test('split-K products (K >= 3000) are right when OpenMP starts fewer threads than asked (OMP_THREAD_LIMIT=1)', () => {
    const paths = nativeAddon()!.info().supported;
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('./helpers/split-k-child.js', import.meta.url)), ...paths],
      {
        encoding: 'utf8',
        env: { ...process.env, OMP_THREAD_LIMIT: '1', POSTER_STUDIO_THREADS: '2' },
        timeout: 120_000,
      },
    );
    assert.equal(child.status, 0, `child failed: ${child.stderr}${child.stdout}`);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
      threads: number;
      threadLimit: number;
      rows: { simd: string; worst: number }[];
    };
    // The condition under test: the kernels ask for 2 threads, OpenMP gives 1.
    assert.equal(out.threads, 2);
    assert.equal(out.threadLimit, 1);
    assert.deepEqual(
      out.rows.map((r) => r.simd),
      paths,
    );
    for (const r of out.rows) assert.ok(r.worst < 1e-2, `${r.simd}: split-K product off by ${r.worst}`);
  });

  test('peak() measures the multiply-add rate of every set the CPU has and refuses the others', () => {
    const addon = nativeAddon()!;
    const info = addon.info();
    for (const set of [...info.supported, ...(info.bf16 ? ['avx512_bf16'] : []), ...(info.amx ? ['amx_bf16'] : [])]) {
      const gflop = addon.peak(set, 0.02);
      assert.ok(Number.isFinite(gflop) && gflop > 0.1, `${set}: ${gflop} GFLOP/s`);
    }
    for (const set of SIMD_PATHS.filter((p) => !info.supported.includes(p)))
      assert.throws(() => addon.peak(set, 0.02), /cannot run/);
    if (!info.bf16) assert.throws(() => addon.peak('avx512_bf16', 0.02), /no AVX512_BF16/);
    if (!info.amx) assert.throws(() => addon.peak('amx_bf16', 0.02), /no usable AMX-BF16/);
    assert.throws(() => addon.peak('sse9', 0.02), /cannot run the 'sse9' kernels/);
    assert.throws(() => addon.peak('portable', 0), /seconds must be in/);
  });

  test('sizes from JS: negative padding and overflowing products throw a JS error, not a crash', () => {
    const addon = nativeAddon()!;
    const f = (n: number): Float32Array => new Float32Array(n);
    // [N, H, W, C, KH, KW, CO, OH, OW, sh, sw, pt, pl, dh, dw]
    const g = (over: Record<number, number>): Int32Array => {
      const v = [1, 4, 4, 1, 3, 3, 1, 4, 4, 1, 1, 1, 1, 1, 1];
      for (const [i, x] of Object.entries(over)) v[Number(i)] = x;
      return Int32Array.from(v);
    };
    addon.conv2d(f(16), f(9), f(16), g({}), null, 0, 0); // the base geometry is valid
    assert.throws(() => addon.conv2d(f(16), f(9), f(16), g({ 11: -1 }), null, 0, 0), /negative padding/);
    assert.throws(() => addon.conv2dBackpropInput(f(16), f(9), f(16), g({ 12: -2 })), /negative padding/);
    // 65536 x 65536 pixels: 2^32 wraps to 0 in int32 arithmetic.
    assert.throws(() => addon.conv2d(f(16), f(9), f(16), g({ 1: 65536, 2: 65536 }), null, 0, 0), /too large/);
    assert.throws(() => addon.conv2dBackpropFilter(f(16), f(16), f(9), g({ 4: 65536, 5: 65536 })), /too large/);
    assert.throws(() => addon.conv2d(f(16), f(9), f(16), g({ 7: 2 ** 30, 9: 4 }), null, 0, 0), /too large/);
    assert.throws(() => addon.matmul(f(4), f(4), f(4), 1, 1, 65536, 65536, 1, false, false, null, 0, 0), /too large/);
    assert.throws(
      () => addon.matmul(f(4), f(4), f(4), 1, 1, 2 ** 32 + 1, 1, 1, false, false, null, 0, 0),
      /invalid matmul shape/,
    );
    assert.throws(
      () => addon.matmul(f(4), f(4), f(4), 2 ** 20, 2 ** 20, 2 ** 15, 1, 2 ** 15, false, false, null, 0, 0),
      /too large/,
    );
  });

  testEachPath(
    'conv2dTranspose as the DCGAN generator uses it (5x5, stride 2, same, 2:3) and its gradients',
    async () => {
      const h = rand([3, 4, 6, 16]),
        w = rand([5, 5, 8, 16]);
      const outShape: [number, number, number, number] = [3, 8, 12, 8];
      await compare('generator layer', () =>
        tf.conv2dTranspose(h as tf.Tensor4D, w as tf.Tensor4D, outShape, 2, 'same'),
      );
      const dy = rand(outShape);
      const loss = (hh: tf.Tensor, ww: tf.Tensor) =>
        tf
          .conv2dTranspose(hh as tf.Tensor4D, ww as tf.Tensor4D, outShape, 2, 'same')
          .mul(dy)
          .sum();
      await compare('generator input gradient', () => at(tf.grads(loss)([h, w]), 0));
      await compare('generator filter gradient', () => at(tf.grads(loss)([h, w]), 1));
    },
  );

  testEachPath('gradients match finite differences of the native forward pass', async () => {
    await tf.setBackend('native');
    for (const c of [
      at(CONV_CASES, 0),
      at(CONV_CASES, 2),
      at(CONV_CASES, 9),
      { x: [1, 6, 4, 3] as [number, number, number, number], k: 5, co: 4, s: 2, pad: 'same' as Pad },
      // Winograd (native/impl_winograd.inc), its forward pass against its own gradients.
      { x: [1, 6, 5, 9] as [number, number, number, number], k: 3, co: 17, s: 1, pad: 'valid' as Pad },
    ]) {
      const x = rand(c.x),
        w = rand([c.k, c.k, c.x[3], c.co]);
      const dy = rand(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad).shape);
      // The loss is linear in x and in w, so a central difference is exact up to rounding.
      const loss = (xx: tf.Tensor, ww: tf.Tensor): number => {
        const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad).dataSync();
        const d = dy.dataSync();
        let s = 0;
        for (let i = 0; i < y.length; i++) s += at(y, i) * at(d, i);
        return s;
      };
      const gxw = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
        tf
          .conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad)
          .mul(dy)
          .sum(),
      )([x, w]);
      for (const [which, t, g] of [
        ['x', x, at(gxw, 0)],
        ['w', w, at(gxw, 1)],
      ] as const) {
        const base = t.dataSync() as Float32Array,
          grad = g.dataSync();
        for (let probe = 0; probe < 12; probe++) {
          const i = rng.int(base.length);
          const plus = base.slice(),
            minus = base.slice();
          plus[i] = at(plus, i) + 0.5;
          minus[i] = at(minus, i) - 0.5;
          const args = (v: Float32Array): [tf.Tensor, tf.Tensor] =>
            which === 'x' ? [tf.tensor(v, t.shape), w] : [x, tf.tensor(v, t.shape)];
          const numeric = loss(...args(plus)) - loss(...args(minus));
          const gi = at(grad, i);
          assert.ok(
            Math.abs(numeric - gi) <= 1e-3 * (1 + Math.abs(numeric)),
            `d loss / d ${which}[${i}] (${c.x.join('x')} s${c.s} ${c.pad}): analytic ${gi}, numeric ${numeric}`,
          );
        }
      }
    }
  });

  testEachPath('fused conv2d with bias and relu / leakyrelu / linear matches cpu', async () => {
    // 3 channels (the row-buffer kernels) and 17 -> 19 (Winograd, its output transform applies them).
    for (const [c, co] of [
      [3, 16],
      [17, 19],
    ] as const) {
      const x = rand([2, 9, 6, c]),
        w = rand([3, 3, c, co]),
        b = rand([co]);
      for (const activation of ['relu', 'leakyrelu', 'linear', 'relu6', 'elu', 'sigmoid', 'prelu'] as const) {
        const alpha = activation === 'prelu' ? rand([co]) : undefined;
        for (const pad of ['same', 'valid'] as const) {
          await compare(`fused ${activation} ${c}->${co} ${pad}`, () =>
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: w as tf.Tensor4D,
              strides: 1,
              pad,
              bias: b,
              activation,
              preluActivationWeights: alpha,
              leakyreluAlpha: 0.1,
            }),
          );
        }
      }
    }
  });

  testEachPath('Winograd and the direct kernels (POSTER_STUDIO_WINOGRAD=0) both match cpu, and differ', async () => {
    const x = rand([2, 10, 9, 32]),
      w = rand([3, 3, 32, 24]),
      dy = rand([2, 10, 9, 24]);
    // Different algorithms round differently.
    for (const [what, fn] of convOps(x, w, dy, 1, 'same'))
      await switchMatchesCpu('POSTER_STUDIO_WINOGRAD', '0', '1', what, fn, true);
    tf.dispose([x, w, dy]);
  });

  // Stride-2 convolutions as 3x3 ones on 2x2 blocks of pixels (native/stride2.cc): 'same' and
  // 'valid', odd sizes (the block map's last row and column half padding), 5x5 (11 of the 36 block
  // taps empty), 6x6 (padding 2), 3x3 and 2x2 (filters two blocks wide), channels that are not
  // whole vectors. POSTER_STUDIO_S2D=all runs the block form wherever it fits, =0 never.
  testEachPath(
    'stride-2 convolutions in block form (POSTER_STUDIO_S2D) match cpu, and change the algorithm',
    async () => {
      const cases: ConvCase[] = [
        { x: [2, 17, 18, 16], k: 5, co: 32, s: 2, pad: 'same' },
        { x: [1, 16, 15, 9], k: 5, co: 20, s: 2, pad: 'valid' },
        { x: [2, 12, 13, 8], k: 6, co: 16, s: 2, pad: 'same' },
        { x: [1, 11, 10, 12], k: 3, co: 24, s: 2, pad: 'same' },
        { x: [2, 9, 8, 16], k: 2, co: 8, s: 2, pad: 'valid' },
        // Even sizes and 16n channels: Winograd reads and writes the image in place as its block
        // view (ConvGeom::blocksIn / blocksOut) instead of a copy; 'same' and 'valid', 5x5 and 6x6,
        // output channels that are not whole vectors.
        { x: [2, 16, 12, 16], k: 5, co: 24, s: 2, pad: 'same' },
        { x: [2, 14, 10, 32], k: 5, co: 16, s: 2, pad: 'valid' },
        { x: [1, 12, 16, 16], k: 6, co: 40, s: 2, pad: 'same' },
        // 256 -> 256 block channels: the filter gradient's sums are past 8 MB, so its 36 positions
        // are shared out instead of the tiles (impl_winograd_filter.inc).
        { x: [1, 16, 16, 64], k: 5, co: 256, s: 2, pad: 'same' },
      ];
      for (const c of cases) {
        const x = rand(c.x),
          w = rand([c.k, c.k, c.x[3], c.co]);
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
        const dy = rand(y.shape);
        // On the block map's 3x3 filter Winograd runs (impl_winograd.inc): other roundings.
        for (const [what, fn] of convOps(x, w, dy, c.s, c.pad))
          await switchMatchesCpu(
            'POSTER_STUDIO_S2D',
            '0',
            'all',
            `${what} ${JSON.stringify(c)}`,
            fn,
            what === 'forward',
          );
        tf.dispose([x, w, y, dy]);
      }
    },
  );

  // Each of these adds per-thread partial sums; which parts a thread sums must not depend on
  // timing, or training would round differently from run to run (a classifier resume test caught it).
  testEachPath('sums split over threads give the same bits on every call', async () => {
    const inputs: tf.Tensor[] = [];
    const r = (shape: number[]): tf.Tensor => inputs[inputs.push(rand(shape)) - 1]!;
    const product = (a: tf.Tensor, b: tf.Tensor) => () => tf.matMul(a, b);
    const filterGrad = (x: tf.Tensor, w: tf.Tensor) => () =>
      tf.grad((f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same').sum())(w);
    const ops: [string, () => tf.Tensor][] = [
      ['split-K product', product(r([96, 3200]), r([3200, 96]))],
      ['streaming product (32 rows)', product(r([32, 6000]), r([6000, 40]))],
      ['RGB filter gradient', filterGrad(r([2, 40, 40, 3]), r([3, 3, 3, 32]))],
      ['Winograd filter gradient', filterGrad(r([4, 32, 32, 16]), r([3, 3, 16, 16]))],
      ['Winograd filter gradient, positions shared out', filterGrad(r([2, 8, 8, 256]), r([3, 3, 256, 256]))],
    ];
    for (const [what, fn] of ops) {
      const first = await on('native', fn);
      for (let i = 0; i < 12; i++) {
        const again = await on('native', fn);
        assert.ok(
          again.values.every((v, j) => Object.is(v, first.values[j])),
          `${what}: call ${i + 2} differs from the first`,
        );
      }
    }
    tf.dispose(inputs);
  });

  testEachPath(
    'layouts and options it does not run natively still give the cpu answer (NCHW, dilation 2)',
    async () => {
      const x = rand([1, 9, 7, 4]),
        w = rand([3, 3, 4, 5]);
      await compare('dilation 2', () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2));
      const xc = rand([1, 4, 9, 7]);
      await compare('NCHW', () => tf.conv2d(xc as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NCHW'));
    },
  );

  // The three geometries below failed tfjs-core's own tests on this backend (test/tfjs-suite.test.ts).
  testEachPath(
    'convolution gradients with a dy larger than the geometry keep the cpu answer (conv2dTranspose 8x8x8 into 4x4x8, f=8, s=1, same)',
    async () => {
      const dy = rand([1, 8, 8, 8]),
        w = rand([8, 8, 8, 8]),
        x = rand([1, 4, 4, 8]);
      await compare('input gradient', () =>
        tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [1, 4, 4, 8], 1, 'same'),
      );
      const attrs = {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: [8, 8, 8, 8],
      };
      await compare(
        'filter gradient',
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy } as never, attrs as never) as tf.Tensor,
      );
    },
  );

  test('maxPool with a 1x1 window, stride 2, padding 1 returns its input, as the cpu kernel does', async () => {
    const x = rand([1, 2, 2, 3]);
    await compare('maxPool f=1 s=2 p=1', () => tf.maxPool(x as tf.Tensor4D, 1, 2, 1));
    assert.deepEqual(
      Array.from((await on('native', () => tf.maxPool(x as tf.Tensor4D, 1, 2, 1))).values),
      Array.from(x.dataSync()),
    );
  });

  test('a tensor on a dataId the backend never stored (bare dataId, custom kernel output) disposes without recursing', async () => {
    await tf.setBackend('native');
    tf.engine().makeTensorFromDataId({}, [3], 'float32').dispose();
    tf.registerKernel({
      kernelName: 'PsBareOutput',
      backendName: 'native',
      kernelFunc: () => ({ dtype: 'float32', shape: [3, 3], dataId: {} }),
    });
    try {
      const y = tf.engine().runKernel('PsBareOutput', { x: tf.zeros([2, 2]) }, {}) as tf.Tensor;
      assert.deepEqual(y.shape, [3, 3]);
      y.dispose();
    } finally {
      tf.unregisterKernel('PsBareOutput', 'native');
    }
  });

  testEachPath('matMul (all transposes, batched, broadcast) and fused matMul with bias + relu match cpu', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const a = rand(ta ? [3, 17, 9] : [3, 9, 17]),
        b = rand(tb ? [1, 21, 17] : [1, 17, 21]);
      await compare(`batched ta=${ta} tb=${tb}`, () => tf.matMul(a, b, ta, tb));
      const a2 = rand(ta ? [40, 33] : [33, 40]),
        b2 = rand(tb ? [19, 40] : [40, 19]),
        bias = rand([19]);
      await compare(`fused ta=${ta} tb=${tb}`, () =>
        tf.fused.matMul({ a: a2, b: b2, transposeA: ta, transposeB: tb, bias, activation: 'relu' }),
      );
    }
    // Shapes that take the dense layer's paths: B rows read in place (N a multiple of 16, few rows),
    // and a * b^T computed as (b * a^T)^T (few rows, many columns), with and without the epilogue.
    const [d1, d2, d3, d4, db] = [rand([5, 70]), rand([70, 32]), rand([7, 50]), rand([600, 50]), rand([600])];
    await compare('rows of b in place', () => tf.matMul(d1, d2));
    await compare('rows of b in place, fused', () =>
      tf.fused.matMul({ a: d1, b: d2, bias: db.slice(0, 32), activation: 'relu' }),
    );
    await compare('a b^T as (b a^T)^T', () => tf.matMul(d3, d4, false, true));
    await compare('a b^T as (b a^T)^T, fused', () =>
      tf.fused.matMul({ a: d3, b: d4, transposeB: true, bias: db, activation: 'leakyrelu', leakyreluAlpha: 0.3 }),
    );
    // 1,500 rows: 11 row blocks of 144 cannot be shared evenly by 2 threads' 8 work items, so
    // they become 16 blocks of 96 (the last one 60 rows), two an item.
    const [m1, m2, mb] = [rand([1500, 50]), rand([50, 40]), rand([40])];
    await compare('runs of row blocks', () => tf.matMul(m1, m2));
    await compare('runs of row blocks, a^T, fused', () =>
      tf.fused.matMul({ a: m1.transpose(), b: m2, transposeA: true, bias: mb, activation: 'relu' }),
    );
    const [p, q, r, s] = [rand([1, 1]), rand([1, 1]), rand([2, 1, 4, 5]), rand([1, 3, 5, 6])];
    await compare('1x1', () => tf.matMul(p, q));
    await compare('broadcast both ways', () => tf.matMul(r, s));
  });

  testEachPath(
    "products with a vector side (N = 1, K = 1: the DCGAN discriminator's last layer) match cpu",
    async () => {
      // Depths and lengths on no vector width; 120 x 12288 and its transposes are over the size
      // where the second thread joins, 60 x 2053 under it.
      for (const [m, k] of [
        [60, 2053],
        [120, 12288],
        [1, 7],
      ] as [number, number][]) {
        for (const [ta, tb] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ]) {
          const x = rand(ta ? [k, m] : [m, k]);
          const v = rand(tb ? [1, k] : [k, 1]);
          await compare(`matrix x vector ${m}x${k} ta=${ta} tb=${tb}`, () => tf.matMul(x, v, ta, tb));
          const u = rand(ta ? [1, m] : [m, 1]);
          const w = rand(tb ? [k, 1] : [1, k]);
          await compare(`outer product ${m}x${k} ta=${ta} tb=${tb}`, () => tf.matMul(u, w, ta, tb));
          tf.dispose([x, v, u, w]);
        }
      }
      const [x, v, u, w, b1, bk] = [
        rand([60, 2053]),
        rand([2053, 1]),
        rand([60, 1]),
        rand([1, 2053]),
        rand([1]),
        rand([2053]),
      ];
      await compare('matrix x vector, fused', () =>
        tf.fused.matMul({ a: x, b: v, bias: b1, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
      );
      await compare('outer product, fused', () => tf.fused.matMul({ a: u, b: w, bias: bk, activation: 'relu' }));
      const [ba, bv, bu, bw] = [rand([3, 37, 1029]), rand([3, 1029, 1]), rand([3, 37, 1]), rand([1, 1, 1029])];
      await compare('batched matrix x vector', () => tf.matMul(ba, bv));
      await compare('batched outer product', () => tf.matMul(bu, bw));
      tf.dispose([x, v, u, w, b1, bk, ba, bv, bu, bw]);
    },
  );

  testEachPath(
    'streaming products with a side of 1-64 (POSTER_STUDIO_SKINNY) match cpu, as the dense layer calls them',
    async () => {
      // Depth / long side 2053 and 37 or 45 columns: no multiple of any vector width or tile;
      // 64 columns for the weight gradient: its streaming stores into a line-aligned pool array.
      const L = 2053;
      const before = process.env.POSTER_STUDIO_SKINNY;
      try {
        for (const m of [1, 7, 32, 64]) {
          const [x, w, bias, dy37, w45, dy45, dy64] = [
            rand([m, L]),
            rand([L, 37]),
            rand([37]),
            rand([m, 37]),
            rand([L, 45]),
            rand([m, 45]),
            rand([m, 64]),
          ];
          const ops: [string, () => tf.Tensor][] = [
            ['forward x W', () => tf.matMul(x, w)],
            ['forward fused', () => tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' })],
            ['weight gradient x^T dy', () => tf.matMul(x, dy37, true, false)],
            ['weight gradient x^T dy, 64 columns', () => tf.matMul(x, dy64, true, false)],
            ['input gradient dy W^T', () => tf.matMul(dy45, w45, false, true)],
          ];
          for (const [what, fn] of ops) {
            const want = await on('cpu', fn);
            process.env.POSTER_STUDIO_SKINNY = '0';
            const general = await on('native', fn);
            process.env.POSTER_STUDIO_SKINNY = '1';
            const skinny = await on('native', fn);
            assertClose(general, want, `general ${what}, m=${m}`);
            assertClose(skinny, want, `streaming ${what}, m=${m}`);
            // The forward pass sums K in another order: identical bits would mean the switch chose nothing.
            if (what === 'forward x W' && m > 1)
              assert.ok(
                general.values.some((v, i) => v !== skinny.values[i]),
                `${what}, m=${m}: the switch did not change the algorithm`,
              );
          }
          tf.dispose([x, w, bias, dy37, w45, dy45, dy64]);
        }
      } finally {
        if (before === undefined) delete process.env.POSTER_STUDIO_SKINNY;
        else process.env.POSTER_STUDIO_SKINNY = before;
      }
    },
  );

  testEachPath('a tiny conv / transposed-conv / dense model trains on native like on cpu', async () => {
    const build = (): tf.Sequential => {
      const m = tf.sequential();
      m.add(
        tf.layers.conv2d({ inputShape: [9, 6, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      );
      m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, strides: 2, padding: 'same' }));
      m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
      m.add(tf.layers.conv2dTranspose({ filters: 4, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu' }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
      m.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
      return m;
    };
    const xs = rand([6, 9, 6, 3]);
    const ys = tf.tensor(
      Array.from({ length: 18 }, (_, i) => (i % 4 === 0 ? 1 : 0)),
      [6, 3],
    );
    await tf.setBackend('cpu');
    const ref = build();
    const init = ref.getWeights().map((t) => ({ shape: t.shape, values: t.dataSync().slice() }));
    const train = async (m: tf.Sequential): Promise<number[]> => {
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) losses.push(Number(await m.trainOnBatch(xs, ys)));
      return losses;
    };
    const cpuLosses = await train(ref);
    await tf.setBackend('native');
    const model = build();
    model.setWeights(init.map((w) => tf.tensor(w.values, w.shape)));
    const nativeLosses = await train(model);
    assert.ok(
      at(nativeLosses, 7) < at(nativeLosses, 0) * 0.9,
      `loss did not decrease on native: ${nativeLosses.join(', ')}`,
    );
    for (let i = 0; i < 8; i++) {
      assert.ok(
        Math.abs(at(nativeLosses, i) - at(cpuLosses, i)) <= 1e-3 * Math.max(1, at(cpuLosses, i)),
        `step ${i}: native loss ${nativeLosses[i]} vs cpu ${cpuLosses[i]}`,
      );
    }
  });
});
