/**
 * The bf16 convolution gradients on AMX (engine/native/amx_conv.cc): with channels in whole 32s the
 * filter gradient is im2col(x)^T dy, im2col packed as A, and the input gradient packs its
 * sub-filters straight from w; with other channel counts, the transposed forms. Each must give the
 * same bits as one plain AMX product of the same values (the filter gradient against amxMatmul of
 * an explicit im2col), the input gradient must be the sum of the bf16-rounded products within fp32
 * summation error (also where the products land straight in dx, 16 pixels per phase row), and
 * every op must give the same bits on every call and thread count. Runs only where AMX is
 * usable (amx-kernels.test.ts says so by name elsewhere).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nativeAddon } from '../engine/native/backend.js';
import { at } from './helpers/at.js';
import { bf16, geomOf } from './helpers/amx-geom.js';

const addon = nativeAddon();
let seed = 5;
const rand = (n: number): Float32Array =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);

// [N, H, W, C, KH, KW, CO, OH, OW, sh, sw, pt, pl, dh, dw]
const GEOMS: [string, number[]][] = [
  ['stride 2, channels in 32s (the DCGAN layers)', [4, 8, 8, 64, 5, 5, 64, 4, 4, 2, 2, 1, 1, 1, 1]],
  ['stride 1, channels in 32s', [2, 6, 7, 32, 3, 3, 32, 6, 7, 1, 1, 1, 1, 1, 1]],
  ['stride 2, ragged channels (40 in, 36 out)', [2, 9, 11, 40, 5, 5, 36, 5, 6, 2, 2, 2, 2, 1, 1]],
  ['stride 2, 64 in, 33 out', [2, 8, 8, 64, 5, 5, 33, 4, 4, 2, 2, 1, 1, 1, 1]],
  // 16 pixels per phase row: the input gradient's products land in dx directly (rows in runs).
  ['stride 2, 32x32 image, channels in 32s', [1, 32, 32, 32, 5, 5, 32, 16, 16, 2, 2, 1, 1, 1, 1]],
  ['stride 2, 32x32 image, ragged channels (40 in, 36 out)', [1, 32, 32, 40, 5, 5, 36, 16, 16, 2, 2, 1, 1, 1, 1]],
];

/**
 * Worst |dx - exact| / bound of an input gradient, exact being the fp64 sum of the bf16-rounded
 * products: the AMX result differs from it only by its fp32 sums, at most depth * 2^-23 of the
 * sum of the products' magnitudes (2x for the products' own fp32 rounding).
 */
function inputGradientError(dx: Float32Array, dy: Float32Array, w: Float32Array, geom: number[]): number {
  const { N, H, W, C, KH, KW, CO, OH, OW, sh, sw, pt, pl } = geomOf(geom);
  const dyb = dy.map(bf16),
    wb = w.map(bf16);
  let worst = 0;
  for (let n = 0; n < N; n++)
    for (let ih = 0; ih < H; ih++)
      for (let iw = 0; iw < W; iw++)
        for (let c = 0; c < C; c++) {
          let exact = 0,
            mag = 0;
          for (let kh = 0; kh < KH; kh++) {
            const t = ih + pt - kh;
            if (t < 0 || t % sh !== 0 || t / sh >= OH) continue;
            for (let kw = 0; kw < KW; kw++) {
              const u = iw + pl - kw;
              if (u < 0 || u % sw !== 0 || u / sw >= OW) continue;
              const d = ((n * OH + t / sh) * OW + u / sw) * CO,
                f = ((kh * KW + kw) * C + c) * CO;
              for (let co = 0; co < CO; co++) {
                const p = at(dyb, d + co) * at(wb, f + co);
                exact += p;
                mag += Math.abs(p);
              }
            }
          }
          const bound = 2 * KH * KW * CO * 2 ** -23 * mag;
          const r = Math.abs(at(dx, ((n * H + ih) * W + iw) * C + c) - exact) / (bound || Number.MIN_VALUE);
          if (!(r <= worst)) worst = r;
        }
  return worst;
}

/** im2col(x) as a [pixels x taps] matrix (taps are (kh, kw, channel)), zero outside the image. */
function im2col(x: Float32Array, geom: number[]): Float32Array {
  const { N, H, W, C, KH, KW, OH, OW, sh, sw, pt, pl, dh, dw } = geomOf(geom);
  const KK = KH * KW * C;
  const col = new Float32Array(N * OH * OW * KK);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const ih = oh * sh - pt + kh * dh,
              iw = ow * sw - pl + kw * dw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++)
              col[((n * OH + oh) * OW + ow) * KK + (kh * KW + kw) * C + c] = at(x, ((n * H + ih) * W + iw) * C + c);
          }
  return col;
}

const info = addon?.info();

describe('AMX bf16 convolution gradients', () => {
  if (!info?.amx) {
    test('[amx] NOT TESTED: this CPU (or OS) has no usable AMX-BF16 (no bf16 convolutions here)', () => {
      assert.equal(info?.amx ?? false, false);
    });
    return;
  }
  const a = addon!;

  for (const [name, geom] of GEOMS) {
    test(`[amx] ${name}: the filter gradient is one AMX product of im2col(x) and dy, bit for bit; the input gradient sums the bf16 products; every op repeats its bits on 1 and 2 threads`, () => {
      const { N, H, W, C, KH, KW, CO, OH, OW } = geomOf(geom);
      const g = Int32Array.from(geom);
      const x = rand(N * H * W * C),
        w = rand(KH * KW * C * CO),
        dy = rand(N * OH * OW * CO);
      const P = N * OH * OW,
        KK = KH * KW * C;
      const ops: [string, () => Float32Array][] = [
        ['forward', () => ((o) => (a.conv2d(x, w, o, g, null, 0, 0), o))(new Float32Array(P * CO))],
        ['input gradient', () => ((o) => (a.conv2dBackpropInput(dy, w, o, g), o))(new Float32Array(x.length))],
        ['filter gradient', () => ((o) => (a.conv2dBackpropFilter(x, dy, o, g), o))(new Float32Array(w.length))],
      ];
      const before = a.info().threads;
      try {
        assert.equal(a.setPrecision('bf16'), 'bf16');
        const expect = new Float32Array(KK * CO);
        a.amxMatmul(im2col(x, geom), dy, expect, KK, CO, P, true, false, false);
        for (const [op, run] of ops) {
          a.setThreads(2);
          const first = run();
          assert.ok(
            first.some((v) => v !== 0),
            `${op}: all zeros`,
          );
          if (op === 'filter gradient') assert.deepEqual(first, expect, `${op}: not the product im2col(x)^T dy`);
          if (op === 'input gradient') {
            const e = inputGradientError(first, dy, w, geom);
            assert.ok(e <= 1, `${op}: ${e.toFixed(3)} x the fp32 summation bound from the bf16 products`);
          }
          assert.deepEqual(run(), first, `${op}: a second call on 2 threads changed bits`);
          a.setThreads(1);
          assert.deepEqual(run(), first, `${op}: 1 thread and 2 differ`);
        }
      } finally {
        a.setThreads(before);
        a.setPrecision('fp32');
      }
    });
  }
});
