/**
 * tfjs's Dropout with a faster mask. tfjs draws the mask with randomUniform, a seedrandom call
 * per element, then floor/add/div over it: ~170 ms of a classifier v1 step for its 6.2M mask
 * values. Here the mask is one pass of a counter-based hash, already scaled by 1/keep, and the
 * layer is one Multiply. It registers under tfjs's own class name 'Dropout', so saved models stay
 * plain Keras JSON that any tfjs loads, and models loaded here get the fast mask too.
 */
import { tf } from '../tf.js';
import { allocFloats } from '../buffer-pool.js';
import { count } from '../kernels/util.js';

type Kwargs = Parameters<tf.layers.Layer['call']>[1];
interface DropoutFields {
  rate: number;
  seed?: number;
  noiseShape?: number[];
}
type DropoutArgs = { rate: number; seed?: number; noiseShape?: number[] };

const DropoutBase = tf.layers.dropout({ rate: 0.5 }).constructor as unknown as new (
  args: DropoutArgs,
) => tf.layers.Layer & DropoutFields;

/** The mask loop in native code (installed by the native backend's registration, engine/native/elementwise.ts). */
export interface NativeDropoutMask {
  backendName: string;
  /** out[i] = hash(seed, i) >= threshold ? scale : 0, the loop below. */
  fill(out: Float32Array, threshold: number, scale: number, seed: number): void;
}

let nativeMask: NativeDropoutMask | null = null;

/** Called once by the native backend's registration; null switches back to the JS loop. */
export function setNativeDropoutMask(m: NativeDropoutMask | null): void {
  nativeMask = m;
}

/**
 * Mask values 0 or 1/keep, from a splitmix32-style hash of (seed, index): the same seed gives
 * the same mask, every element independent. A value is dropped when its 32-bit hash falls below
 * rate * 2^32, i.e. with probability `rate`. On the native backend the same loop runs in C++
 * (in JS it took ~60 ms of a classifier v1 step for its 6.2M values, in a CPU profile on the
 * loaded 2-core machine); the two agree bit for bit.
 */
export function dropoutMask(n: number, rate: number, seed: number): Float32Array {
  const out = allocFloats(n);
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  const threshold = Math.floor(rate * 4294967296);
  const native = nativeMask !== null && n > 0 && tf.getBackend() === nativeMask.backendName;
  count('DropoutMask', native);
  if (native) {
    nativeMask!.fill(out, threshold, scale, seed | 0);
    return out;
  }
  let s = Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995;
  for (let i = 0; i < n; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    out[i] = z >>> 0 >= threshold ? scale : 0;
  }
  return out;
}

export class FastDropout extends DropoutBase {
  static className = 'Dropout';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = kwargs['training'] === true;
    if (!training || !x || this.noiseShape != null || !(this.rate > 0 && this.rate < 1))
      return super.call(inputs, kwargs);
    // tfjs draws an unseeded mask from Math.random; so does this, through a random seed.
    const seed = this.seed ?? Math.floor(Math.random() * 2147483647);
    return tf.tidy(() => tf.mul(x, tf.tensor(dropoutMask(x.size, this.rate, seed), x.shape, 'float32')));
  }
}

// fromConfig is inherited from tfjs's Dropout at run time; the cast only restores its static type.
tf.serialization.registerClass(
  FastDropout as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);
