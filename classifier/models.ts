/**
 * The classifier architectures. v1-v3 are the seed's (v1 3x3 kernels, v2 kernel 10% of the input
 * width, v3 20%), with the seed's padding: 1st and 3rd conv 'same', 2nd and 4th 'valid'. v4 is
 * ours: conv-BN-ReLU blocks (16, 32, 64x2, 128x2), global average pooling instead of the 60800-wide dense layer, and
 * seeded horizontal-flip augmentation in training (see train.ts). Every initializer has its own
 * seed, so the same seed builds the same weights.
 */
import { tf, type LayersModel, FastConv2D, FastDropout } from '../engine/index.js';

export const VERSIONS = [1, 2, 3, 4] as const;
export type Version = (typeof VERSIONS)[number];

export const VERSION_NOTES: Record<Version, string> = {
  1: 'seed v1: 3x3 kernels, Conv32-Conv32-Pool-Drop, Conv64-Conv64-Pool-Drop, Dense512-Drop',
  2: 'seed v2: as v1 with kernels 10% of the input width',
  3: 'seed v3: as v1 with kernels 20% of the input width',
  4: 'ours: conv-BN-ReLU blocks 16, 32, 64x2, 128x2 with pooling, global average pooling, dropout 0.3, flip augmentation',
};

export interface ModelSpec {
  version: Version;
  width: number;
  height: number;
  outputs: number;
  seed: number;
}

/** Whether training flips posters left-right at random for this version. */
export const augments = (v: Version): boolean => v === 4;

export function kernelSize(version: Version, width: number): number {
  if (version === 2) return Math.max(2, Math.round(width * 0.1));
  if (version === 3) return Math.max(2, Math.round(width * 0.2));
  return 3;
}

export function buildClassifier(s: ModelSpec): LayersModel {
  let n = 0;
  // Distinct seeds per layer; 0 would mean "unseeded" to tfjs.
  const init = () => tf.initializers.glorotUniform({ seed: s.seed * 1000 + ++n });
  const input = tf.input({ shape: [s.height, s.width, 3] });
  let x: tf.SymbolicTensor = input;
  const conv = (
    filters: number,
    k: number,
    padding: 'same' | 'valid',
    activation: 'relu' | 'linear' = 'relu',
    useBias = true,
  ) => new FastConv2D({ filters, kernelSize: k, padding, activation, useBias, kernelInitializer: init() });
  const drop = (rate: number) => new FastDropout({ rate, seed: s.seed * 1000 + 500 + ++n });
  if (s.version === 4) {
    // Narrow early blocks, two convs only where the maps are small: ~70 MFLOP per 55x80 poster
    // forward, several times less than v1, and no 7M-weight dense layer to overfit.
    for (const [f, reps] of [
      [16, 1],
      [32, 1],
      [64, 2],
      [128, 2],
    ] as const) {
      for (let r = 0; r < reps; r++) {
        x = conv(f, 3, 'same', 'linear', false).apply(x) as tf.SymbolicTensor;
        x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
        x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
      }
      if (f !== 128) x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    x = drop(0.3).apply(x) as tf.SymbolicTensor;
  } else {
    const k = kernelSize(s.version, s.width);
    // The seed's conv(activation='relu'): FastConv2D trains it as one op (engine/ops/conv2d.ts).
    // Models saved before that had a linear conv and a separate ReLU layer; they load as saved.
    const convRelu = (filters: number, padding: 'same' | 'valid') => {
      x = conv(filters, k, padding).apply(x) as tf.SymbolicTensor;
    };
    convRelu(32, 'same');
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
  }
  const out = tf.layers
    .dense({ units: s.outputs, activation: 'sigmoid', kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/**
 * tfjs's Dropout draws its mask from Math.random unless it has a seed, and with a fixed seed it
 * draws the same mask every step. Re-seeding per step from (run seed, step) gives fresh masks
 * that a resumed run reproduces exactly.
 */
export function reseedDropout(model: LayersModel, seed: number, step: number): void {
  model.layers.forEach((l, i) => {
    if (l.getClassName() === 'Dropout')
      (l as unknown as { seed: number }).seed = 1 + ((seed * 7919 + step * 131 + i) % 2147483000);
  });
}
