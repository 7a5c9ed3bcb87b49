/**
 * DiffAugment (Zhao et al. 2020) on NHWC images in [-1, 1], written with differentiable tfjs
 * ops so G's gradient flows through the augmentation of its fakes. Constants follow the
 * authors' DiffAugment_pytorch.py: brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5],
 * translation up to 1/8 of each side with zero fill, one cutout of half each side. Every random
 * draw comes from the caller's seeded Rng, so a run (and its resume) repeats exactly.
 */
import type { Rng } from '../src/core/random.js';
import { tf } from '../engine/index.js';
import type { Augment } from './recipe.js';

const perImage = (rng: Rng, n: number, f: (u: number) => number): tf.Tensor4D =>
  tf.tensor4d(
    Float32Array.from({ length: n }, () => f(rng.next())),
    [n, 1, 1, 1],
  );

function color(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const n = x.shape[0];
  let y: tf.Tensor = tf.add(
    x,
    perImage(rng, n, (u) => u - 0.5),
  );
  const chan = tf.mean(y, 3, true);
  y = tf.add(
    tf.mul(
      tf.sub(y, chan),
      perImage(rng, n, (u) => u * 2),
    ),
    chan,
  );
  const all = tf.mean(y, [1, 2, 3], true);
  return tf.add(
    tf.mul(
      tf.sub(y, all),
      perImage(rng, n, (u) => u + 0.5),
    ),
    all,
  ) as tf.Tensor4D;
}

/** out[i, y, x] = in[i, y + sign*dy[i], x + sign*dx[i]], zero outside the image. */
function shiftData(x: tf.Tensor, dy: Int32Array, dx: Int32Array, sign: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const src = x.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < n; i++) {
    const ty = sign * dy[i]!;
    const tx = sign * dx[i]!;
    const x0 = Math.max(0, -tx);
    const x1 = Math.min(w, w - tx);
    if (x1 <= x0) continue;
    for (let y = Math.max(0, -ty); y < Math.min(h, h - ty); y++) {
      const from = ((i * h + y + ty) * w + x0 + tx) * c;
      out.set(src.subarray(from, from + (x1 - x0) * c), ((i * h + y) * w + x0) * c);
    }
  }
  return tf.tensor4d(out, [n, h, w, c]);
}

/**
 * Shift each image by its own whole-pixel offset, filling with zeros (mid-grey). A zero-fill
 * shift's adjoint is the opposite shift, so the gradient is one more copy: per-image slices of
 * a padded batch cost a batch-sized gradient per image instead (seconds per G step).
 */
function translation(x: tf.Tensor4D, rng: Rng, ratio = 0.125): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const sy = Math.floor(h * ratio + 0.5);
  const sx = Math.floor(w * ratio + 0.5);
  const dy = new Int32Array(n);
  const dx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    dy[i] = rng.int(2 * sy + 1) - sy;
    dx[i] = rng.int(2 * sx + 1) - sx;
  }
  const op = tf.customGrad((t) => ({
    value: shiftData(t as tf.Tensor, dy, dx, 1),
    gradFunc: (g: tf.Tensor) => shiftData(g, dy, dx, -1),
  }));
  return op(x) as tf.Tensor4D;
}

/** Zero one rectangle of half the height and width per image, centred anywhere (clipped). */
function cutout(x: tf.Tensor4D, rng: Rng, ratio = 0.5): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const ch = Math.floor(h * ratio + 0.5);
  const cw = Math.floor(w * ratio + 0.5);
  const mask = new Float32Array(n * h * w).fill(1);
  for (let i = 0; i < n; i++) {
    const oy = rng.int(h + (1 - (ch % 2))) - Math.floor(ch / 2);
    const ox = rng.int(w + (1 - (cw % 2))) - Math.floor(cw / 2);
    for (let yy = Math.max(0, oy); yy < Math.min(h, oy + ch); yy++) {
      mask.fill(0, (i * h + yy) * w + Math.max(0, ox), (i * h + yy) * w + Math.min(w, ox + cw));
    }
  }
  return tf.mul(x, tf.tensor4d(mask, [n, h, w, 1]));
}

export function diffAugment(x: tf.Tensor4D, policies: readonly Augment[], rng: Rng): tf.Tensor4D {
  let y = x;
  for (const p of policies) {
    if (p === 'color') y = color(y, rng);
    else if (p === 'translation') y = translation(y, rng);
    else y = cutout(y, rng);
  }
  return y;
}

/** Flips each image (NHWC, in place) left-right with probability 1/2. */
export function mirrorHalf(pixels: Float32Array, n: number, h: number, w: number, rng: Rng): void {
  for (let i = 0; i < n; i++) {
    if (rng.next() >= 0.5) continue;
    for (let y = 0; y < h; y++) {
      const row = (i * h + y) * w * 3;
      for (let a = 0, b = w - 1; a < b; a++, b--) {
        for (let k = 0; k < 3; k++) {
          const t = pixels[row + a * 3 + k]!;
          pixels[row + a * 3 + k] = pixels[row + b * 3 + k]!;
          pixels[row + b * 3 + k] = t;
        }
      }
    }
  }
}
