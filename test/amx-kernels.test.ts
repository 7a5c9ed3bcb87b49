/**
 * The AMX bf16 matrix product (engine/native/amx.cc) against an fp64 reference, on small and ragged
 * sizes. It runs only where the CPU and OS allow AMX; elsewhere one test says so by name and checks
 * that the addon refuses AMX work rather than crash. The no-AMX path itself is checked everywhere,
 * in a child process with POSTER_STUDIO_AMX=0.
 *
 * Tolerance: bf16 keeps 8 significant bits, so rounding an input to nearest even moves it by at most
 * u = 2^-8 of itself, and a product of two rounded inputs by at most (1 + u)^2 - 1 = 2^-7 + 2^-16
 * of |a b|. The fp32 sums of K such products add at most K * 2^-24 of the sum of their magnitudes
 * (taken here as K * 2^-23 for the products' own fp32 rounding). So each element may differ from the
 * exact product by at most (2^-7 + 2^-16 + K * 2^-23) * sum_k |a_ik b_kj| (+ 2^-23 |c| when adding
 * to c). The rounding itself is checked exactly: A times the identity must be bf16(A), bit for bit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { nativeAddon } from '../engine/native/backend.js';
import { at } from './helpers/at.js';
import { bf16, geomOf } from './helpers/amx-geom.js';

const addon = nativeAddon();
let seed = 7;
const rand = (n: number): Float32Array =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);

interface Case {
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  acc: boolean;
}

/** Worst |error| / bound over c, for op(a) op(b) (+ c0) of the case. */
function check(c: Case, threads: number): { ratio: number; out: Float32Array } {
  const { m, n, k, ta, tb, acc } = c;
  const a = rand(m * k),
    b = rand(k * n),
    c0 = rand(m * n);
  const out = Float32Array.from(c0);
  const before = addon!.info().threads;
  addon!.setThreads(threads);
  try {
    addon!.amxMatmul(a, b, out, m, n, k, ta, tb, acc);
  } finally {
    addon!.setThreads(before);
  }
  const A = (i: number, kk: number): number => at(a, ta ? kk * m + i : i * k + kk);
  const B = (kk: number, j: number): number => at(b, tb ? j * k + kk : kk * n + j);
  let ratio = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let exact = acc ? at(c0, i * n + j) : 0,
        mag = 0;
      for (let kk = 0; kk < k; kk++) {
        const p = A(i, kk) * B(kk, j);
        exact += p;
        mag += Math.abs(p);
      }
      const bound = (2 ** -7 + 2 ** -16 + k * 2 ** -23) * mag + (acc ? 2 ** -23 * Math.abs(at(c0, i * n + j)) : 0);
      const r = Math.abs(at(out, i * n + j) - exact) / (bound || Number.MIN_VALUE);
      if (!(r <= ratio)) ratio = r;
    }
  return { ratio, out };
}

const info = addon?.info();

describe('AMX bf16 matrix product', () => {
  test('the native addon is built (the AMX tests need it)', () => {
    assert.ok(addon, 'the native addon did not load');
  });

  if (info && !info.amx) {
    test('[amx] NOT TESTED: this CPU (or OS) has no usable AMX-BF16; the addon refuses AMX work', (t) => {
      t.diagnostic('the AMX bf16 product was not run on this machine');
      const f = new Float32Array(4);
      assert.throws(() => addon!.amxMatmul(f, f, f, 2, 2, 1, false, false, false), /no usable AMX-BF16/);
      assert.throws(() => addon!.peak('amx_bf16', 0.01), /no usable AMX-BF16/);
      assert.throws(() => addon!.setPrecision('bf16'), /no usable AMX-BF16/);
    });
  }

  test('POSTER_STUDIO_AMX=0: the addon reports no AMX and refuses AMX work and bf16 (the path of CPUs without it)', () => {
    const script = `
      const { loadAddon } = await import(${JSON.stringify(new URL('../engine/native/addon.js', import.meta.url).href)});
      const r = loadAddon();
      if (!('addon' in r)) { console.log(JSON.stringify({ error: r.reason })); process.exit(1); }
      const f = new Float32Array(4), errors = [];
      for (const call of [() => r.addon.amxMatmul(f, f, f, 2, 2, 1, false, false, false), () => r.addon.peak('amx_bf16', 0.01), () => r.addon.setPrecision('bf16')])
        try { call(); errors.push(null); } catch (e) { errors.push(e.message); }
      console.log(JSON.stringify({ amx: r.addon.info().amx, errors }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, POSTER_STUDIO_AMX: '0' },
      timeout: 60_000,
    });
    assert.equal(child.status, 0, `child failed: ${child.stderr}${child.stdout}`);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { amx: boolean; errors: (string | null)[] };
    assert.equal(out.amx, false);
    for (const e of out.errors) assert.match(e ?? 'no error', /no usable AMX-BF16/);
  });

  if (!info?.amx) return;

  test('[amx] inputs are rounded to bf16 to nearest even: A times the identity is bf16(A) bit for bit', () => {
    // Near 1 bf16 steps by 2^-7: ties round to the even neighbour, anything past a tie rounds up.
    const special = [
      1 + 2 ** -8, // tie -> 1
      1 + 3 * 2 ** -8, // tie -> 1 + 2^-6
      1 + 2 ** -8 + 2 ** -20, // past the tie -> 1 + 2^-7
      -(1 + 3 * 2 ** -8),
      3.14159,
      -1e-3,
      65504.5,
      2 ** 100,
      0,
    ];
    for (const [m, k, ta] of [
      [37, 45, false],
      [20, 70, true],
    ] as const) {
      const a = rand(m * k);
      special.forEach((v, i) => (a[i * 7] = v));
      const eye = new Float32Array(k * k);
      for (let i = 0; i < k; i++) eye[i * k + i] = 1;
      const c = new Float32Array(m * k).fill(Number.NaN);
      // With ta, a holds A^T (k x m): C = A I with A = a^T.
      addon!.amxMatmul(a, eye, c, m, k, k, ta, false, false);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < k; j++) {
          const want = bf16(at(a, ta ? j * m + i : i * k + j));
          assert.equal(at(c, i * k + j), want, `C[${i}][${j}] (transA ${ta})`);
        }
      // And B's packing: I B = bf16(B), B given transposed.
      const cb = new Float32Array(k * m).fill(Number.NaN);
      addon!.amxMatmul(eye, a, cb, k, m, k, false, !ta, false);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < m; j++) {
          const want = bf16(at(a, ta ? i * m + j : j * k + i));
          assert.equal(at(cb, i * m + j), want, `B[${i}][${j}] (transB ${!ta})`);
        }
    }
  });

  test('[amx] matches an fp64 reference within the bf16 bound: ragged sizes, transposes, accumulate', () => {
    const cases: Case[] = [];
    for (const [m, n, k] of <[number, number, number][]>[
      [1, 1, 1],
      [17, 33, 31],
      [40, 70, 100],
      [100, 3, 75],
      [5, 200, 64],
      [333, 129, 65],
    ])
      for (const ta of [false, true])
        for (const tb of [false, true]) cases.push({ m, n, k, ta, tb, acc: (m + n + (ta ? 1 : 0)) % 2 === 0 });
    for (const c of cases) {
      const { ratio } = check(c, 2);
      assert.ok(ratio <= 1, `${JSON.stringify(c)}: error ${ratio.toFixed(3)} x the bf16 bound`);
    }
  });

  test('[amx] K >= 3000 (several depth blocks), not a multiple of 32, accumulating, transposed', () => {
    for (const c of [
      { m: 64, n: 48, k: 3001, ta: false, tb: false, acc: false },
      { m: 33, n: 70, k: 3100, ta: true, tb: true, acc: true },
    ]) {
      const { ratio } = check(c, 2);
      assert.ok(ratio <= 1, `${JSON.stringify(c)}: error ${ratio.toFixed(3)} x the bf16 bound`);
    }
  });

  test('[amx] one thread and two give the same bits (each element sums in the same order)', () => {
    const c = { m: 300, n: 90, k: 600, ta: false, tb: false, acc: false };
    seed = 11;
    const one = check(c, 1).out;
    seed = 11;
    const two = check(c, 2).out;
    assert.deepEqual(two, one);
  });

  test("[amx] setPrecision('bf16'): convolutions within the bf16 bound of fp32; RGB, dilated and fp32 untouched", () => {
    const a = addon!;
    // [N, H, W, C, KH, KW, CO, OH, OW, sh, sw, pt, pl, dh, dw]: stride 2 'same' (DCGAN), stride 1,
    // ragged channels, channels in whole tiles (64 and 32: im2col rounded straight from the image);
    // a 3-channel image and a dilated convolution stay on the fp32 kernels.
    const geoms = [
      [2, 9, 11, 8, 5, 5, 16, 5, 6, 2, 2, 2, 2, 1, 1],
      [3, 16, 24, 40, 5, 5, 36, 8, 12, 2, 2, 1, 1, 1, 1],
      [2, 7, 7, 20, 3, 3, 33, 7, 7, 1, 1, 1, 1, 1, 1],
      [2, 8, 12, 3, 5, 5, 16, 4, 6, 2, 2, 1, 1, 1, 1],
      [1, 9, 9, 8, 3, 3, 8, 5, 5, 1, 1, 0, 0, 2, 2],
      [2, 8, 10, 64, 5, 5, 32, 4, 5, 2, 2, 1, 1, 1, 1],
    ];
    const abs = (v: Float32Array): Float32Array => v.map(Math.abs);
    try {
      for (const geom of geoms) {
        const { N, H, W, C, KH, KW, CO, OH, OW } = geomOf(geom);
        const g = Int32Array.from(geom);
        const x = rand(N * H * W * C),
          w = rand(KH * KW * C * CO),
          dy = rand(N * OH * OW * CO);
        const ops = {
          forward: (p: Float32Array, q: Float32Array, o: Float32Array) => a.conv2d(p, q, o, g, null, 0, 0),
          'input gradient': (p: Float32Array, q: Float32Array, o: Float32Array) => a.conv2dBackpropInput(p, q, o, g),
          'filter gradient': (p: Float32Array, q: Float32Array, o: Float32Array) => a.conv2dBackpropFilter(p, q, o, g),
        };
        const args: Record<keyof typeof ops, [Float32Array, Float32Array, number, number]> = {
          forward: [x, w, dy.length, KH * KW * C],
          'input gradient': [dy, w, x.length, CO],
          'filter gradient': [x, dy, w.length, N * OH * OW],
        };
        for (const [name, op] of Object.entries(ops) as [keyof typeof ops, (typeof ops)['forward']][]) {
          const [p, q, n, depth] = args[name];
          const exact = new Float32Array(n),
            mag = new Float32Array(n),
            got = new Float32Array(n);
          a.setPrecision('fp32');
          op(p, q, exact);
          op(abs(p), abs(q), mag); // sum |p q| per element, the scale of the bound
          assert.equal(a.setPrecision('bf16'), 'bf16');
          assert.equal(a.info().precision, 'bf16');
          op(p, q, got);
          if (C <= 4 || geom[13] !== 1) {
            assert.deepEqual(got, exact, `${name} ${geom.join(',')} (RGB or dilated): the fp32 kernel, bit for bit`);
            continue;
          }
          // The bound above, plus the fp32 reference's own rounding (another depth * 2^-24).
          let worst = 0;
          for (let i = 0; i < n; i++) {
            const bound = (2 ** -7 + 2 ** -16 + 2 * depth * 2 ** -23) * at(mag, i);
            worst = Math.max(worst, Math.abs(at(got, i) - at(exact, i)) / (bound || Number.MIN_VALUE));
          }
          assert.ok(worst <= 1, `${name} ${geom.join(',')}: error ${worst.toFixed(3)} x the bf16 bound`);
          assert.notDeepEqual(got, exact, `${name} ${geom.join(',')}: bf16 gave the fp32 result bit for bit`);
        }
      }
    } finally {
      a.setPrecision('fp32');
    }
    assert.equal(a.info().precision, 'fp32');
    assert.throws(() => a.setPrecision('fp16' as 'fp32'), /precision must be fp32 or bf16/);
  });

  test('[amx] sizes from JS are checked: short arrays and bad sizes throw', () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    assert.throws(() => addon!.amxMatmul(f(5), f(6), f(6), 2, 3, 3, false, false, false), /a is too short/);
    assert.throws(() => addon!.amxMatmul(f(6), f(6), f(6), 2, 3, -1, false, false, false), /invalid K/);
    assert.throws(() => addon!.amxMatmul(f(6), f(6), f(6), 2, 3, 1.5, false, false, false), /invalid K/);
  });
});
