/**
 * One training iteration as the seed's fork runs it: one D update on a real and a fake batch,
 * then nbr_g_updates G updates with the same z. The D update does not backpropagate into G, and
 * the G updates compute no D weight gradients (only the activation gradients flow through D).
 */
import { tf } from '../engine/index.js';
import { type BnStats, trainable, updateMovingStats } from './layers.js';
import { discriminator, generator } from './model.js';
import type { TrainState } from './state.js';

export interface StepLosses {
  d: number;
  g: number;
}

/** mean(-log sigmoid(l)) for label 1, mean(-log(1 - sigmoid(l))) for label 0, stable for any l. */
const bceOnes = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.softplus(tf.neg(logits)));
const bceZeros = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.softplus(logits));

export function discriminatorStep(s: TrainState, real: tf.Tensor4D, z: tf.Tensor2D, y: tf.Tensor2D | null): number {
  const n = s.net;
  const stats: BnStats[] = [];
  const fake = tf.tidy(() => generator(n, z, y, 'batch', stats));
  updateMovingStats(n.g, stats);
  const { value, grads } = tf.variableGrads(() => tf.add(bceOnes(discriminator(n, real, y)), bceZeros(discriminator(n, fake, y))) as tf.Scalar, trainable(n.d));
  s.optD.apply(grads);
  const loss = value.dataSync()[0]!;
  tf.dispose([fake, value, ...Object.values(grads)]);
  return loss;
}

export function generatorStep(s: TrainState, z: tf.Tensor2D, y: tf.Tensor2D | null): number {
  const n = s.net;
  const { value, grads } = tf.variableGrads(() => bceOnes(discriminator(n, generator(n, z, y, 'batch'), y)), trainable(n.g));
  s.optG.apply(grads);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

export function trainIteration(s: TrainState, real: tf.Tensor4D, z: tf.Tensor2D, y: tf.Tensor2D | null): StepLosses {
  const d = discriminatorStep(s, real, z, y);
  let g = NaN;
  for (let k = 0; k < s.train.nbrGUpdates; k++) g = generatorStep(s, z, y);
  return { d, g };
}

/** The fixed sample batch through G with its own batch statistics (no running-average update). */
export function sampleFixed(s: TrainState): Float32Array {
  const B = s.train.rows * s.train.cols;
  const c = s.net.config;
  return tf.tidy(() => {
    const z = tf.tensor2d(s.fixedZ, [B, c.zDim]);
    const y = s.fixedY ? tf.tensor2d(s.fixedY, [B, s.fixedY.length / B]) : null;
    return generator(s.net, z, y, 'batch').dataSync() as Float32Array;
  });
}
