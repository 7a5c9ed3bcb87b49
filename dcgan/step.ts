/**
 * One training iteration as the seed's fork runs it: one D update on a real and a fake batch,
 * then nbr_g_updates G updates with the same z. The D update does not backpropagate into G, and
 * the G updates compute no D weight gradients (only the activation gradients flow through D).
 * The recipe adds DiffAugment before every D call (inside G's gradient in G steps), the hinge
 * loss, and the EMA of G after the updates.
 */
import { createRng, type Rng } from '../src/core/random.js';
import { tf } from '../engine/index.js';
import { diffAugment } from './augment.js';
import { type BnStats, trainable, updateMovingStats } from './layers.js';
import { discriminator, generator } from './model.js';
import { samplingNetworks, type TrainState, updateEma } from './state.js';

export interface StepLosses {
  d: number;
  g: number;
}

/** mean(-log sigmoid(l)) for label 1, mean(-log(1 - sigmoid(l))) for label 0, stable for any l. */
const bceOnes = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.softplus(tf.neg(logits)));
const bceZeros = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.softplus(logits));
/** Hinge: D pushes real logits above 1 and fake ones below -1; G raises its fakes' logits. */
const hingeReal = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.relu(tf.sub(1, logits)));
const hingeFake = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.relu(tf.add(1, logits)));

/** The augmentation a D call sees; identity without DiffAugment. */
const augmenter =
  (s: TrainState, rng: Rng | null) =>
  (x: tf.Tensor4D): tf.Tensor4D =>
    rng && s.recipe.diffAugment.length ? diffAugment(x, s.recipe.diffAugment, rng) : x;

export function discriminatorStep(
  s: TrainState,
  real: tf.Tensor4D,
  z: tf.Tensor2D,
  y: tf.Tensor2D | null,
  rng: Rng | null = null,
): number {
  const n = s.net;
  const aug = augmenter(s, rng);
  const stats: BnStats[] = [];
  const fake = tf.tidy(() => aug(generator(n, z, y, 'batch', stats)));
  updateMovingStats(n.g, stats);
  const realIn = tf.tidy(() => aug(real));
  const hinge = s.recipe.loss === 'hinge';
  const { value, grads } = tf.variableGrads(() => {
    const r = discriminator(n, realIn, y);
    const f = discriminator(n, fake, y);
    return tf.add(hinge ? hingeReal(r) : bceOnes(r), hinge ? hingeFake(f) : bceZeros(f)) as tf.Scalar;
  }, trainable(n.d));
  s.optD.apply(grads);
  const loss = value.dataSync()[0]!;
  // Without augmentation realIn is the caller's tensor: not ours to dispose.
  tf.dispose([fake, value, ...Object.values(grads), ...(realIn === real ? [] : [realIn])]);
  return loss;
}

export function generatorStep(s: TrainState, z: tf.Tensor2D, y: tf.Tensor2D | null, rng: Rng | null = null): number {
  const n = s.net;
  const aug = augmenter(s, rng);
  const hinge = s.recipe.loss === 'hinge';
  const { value, grads } = tf.variableGrads(() => {
    const logits = discriminator(n, aug(generator(n, z, y, 'batch')), y);
    return hinge ? tf.neg(tf.mean(logits)) : bceOnes(logits);
  }, trainable(n.g));
  s.optG.apply(grads);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

/** Iteration `it` (1-based): its augmentations draw from their own seeded stream. */
export function trainIteration(
  s: TrainState,
  real: tf.Tensor4D,
  z: tf.Tensor2D,
  y: tf.Tensor2D | null,
  it = s.iteration + 1,
): StepLosses {
  const rng = s.recipe.diffAugment.length ? createRng(s.seed, `diffaugment:${it}`) : null;
  const d = discriminatorStep(s, real, z, y, rng);
  let g = NaN;
  for (let k = 0; k < s.train.nbrGUpdates; k++) g = generatorStep(s, z, y, rng);
  s.iteration = it;
  updateEma(s);
  return { d, g };
}

/** The fixed sample batch through G with its own batch statistics (no running-average update). */
export function sampleFixed(s: TrainState): Float32Array {
  const B = s.train.rows * s.train.cols;
  const c = s.net.config;
  return tf.tidy(() => {
    const z = tf.tensor2d(s.fixedZ, [B, c.zDim]);
    const y = s.fixedY ? tf.tensor2d(s.fixedY, [B, s.fixedY.length / B]) : null;
    return generator(samplingNetworks(s), z, y, 'batch').dataSync() as Float32Array;
  });
}
