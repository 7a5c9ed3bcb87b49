/**
 * The few building blocks the DCGAN needs, written on plain tfjs ops so that every number the
 * networks hold is an explicit variable: checkpoints can then save and restore them exactly.
 */
import { tf, batchNormTrain, convRelu, convReluAvailable } from '../engine/index.js';
import type { Rng } from '../src/core/random.js';
import type { Activation } from './config.js';

export type Params = Map<string, tf.Variable>;

/** carpedm20 initialises weights from N(0, 0.02), truncated at 2 sigma for convolutions. */
export function initNormal(rng: Rng, size: number, std: number, truncated: boolean): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v = rng.normal();
    while (truncated && Math.abs(v) > 2) v = rng.normal();
    out[i] = v * std;
  }
  return out;
}

export function addVar(
  params: Params,
  name: string,
  shape: number[],
  values: Float32Array,
  trainable = true,
): tf.Variable {
  const v = tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${name}_${nextId++}`);
  params.set(name, v);
  return v;
}
let nextId = 0;

export function get(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`no parameter ${name}`);
  return v;
}

/** carpedm20's leaky ReLU slope. */
const LEAKY_ALPHA = 0.2;

export function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  switch (a) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'lrelu':
      return tf.leakyRelu(x, LEAKY_ALPHA);
    case 'elu':
      return tf.elu(x);
    case 'selu':
      return tf.selu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
  }
}

/**
 * activate(conv2d(x, w, stride 2, 'same') + bias). A ReLU or leaky ReLU runs inside the
 * convolution where the backend has the fused op (conv, bias and activation one pass forward; the
 * activation's gradient and the bias gradient one pass backward), with the values and gradients
 * of the ops one after the other.
 */
export function convActivate(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor, a: Activation): tf.Tensor {
  if ((a === 'relu' || a === 'lrelu') && convReluAvailable())
    return convRelu(x, w, bias, [2, 2], 'same', a === 'lrelu' ? LEAKY_ALPHA : 0);
  return activate(tf.add(tf.conv2d(x, w, 2, 'same'), bias), a);
}

/** How batch norm normalises: this batch's statistics, or the running averages (inference). */
export type BnMode = 'batch' | 'moving';

export const BN_EPSILON = 1e-5;
/** carpedm20's batch_norm decay. */
export const BN_MOMENTUM = 0.9;

export interface BnStats {
  name: string;
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * Batch norm over N, H, W (or N for 2-D input). In 'batch' mode the batch statistics are pushed
 * to `stats` (kept out of tidy) so the caller can fold them into the running averages.
 */
export function batchNorm(params: Params, name: string, x: tf.Tensor, mode: BnMode, stats?: BnStats[]): tf.Tensor {
  const gamma = get(params, `${name}/gamma`);
  const beta = get(params, `${name}/beta`);
  if (mode === 'moving') {
    return tf.batchNorm(
      x,
      get(params, `${name}/moving_mean`),
      get(params, `${name}/moving_variance`),
      beta,
      gamma,
      BN_EPSILON,
    );
  }
  const { y, mean, variance } = batchNormTrain(x, gamma, beta, BN_EPSILON);
  stats?.push({ name, mean: tf.keep(mean), variance: tf.keep(variance) });
  return y;
}

/**
 * activate(batchNorm(x + bias)) (bias: the convolution's, per channel, or none). In 'batch' mode
 * one op: the bias add, and a ReLU or leaky ReLU, run in batch norm's own passes, with the same
 * values and gradients as the ops one after the other.
 */
export function batchNormActivate(
  params: Params,
  name: string,
  x: tf.Tensor,
  mode: BnMode,
  a: Activation,
  stats?: BnStats[],
  bias?: tf.Tensor,
): tf.Tensor {
  if (mode !== 'batch') return activate(batchNorm(params, name, bias ? tf.add(x, bias) : x, mode, stats), a);
  const gamma = get(params, `${name}/gamma`);
  const beta = get(params, `${name}/beta`);
  const fusedAct = a === 'relu' ? 'relu' : a === 'lrelu' ? 'leakyrelu' : 'linear';
  const { y, mean, variance } = batchNormTrain(x, gamma, beta, BN_EPSILON, {
    activation: fusedAct,
    alpha: LEAKY_ALPHA,
    ...(bias ? { bias } : {}),
  });
  stats?.push({ name, mean: tf.keep(mean), variance: tf.keep(variance) });
  return fusedAct === 'linear' ? activate(y, a) : y;
}

export function addBatchNorm(params: Params, name: string, channels: number): void {
  addVar(params, `${name}/gamma`, [channels], new Float32Array(channels).fill(1));
  addVar(params, `${name}/beta`, [channels], new Float32Array(channels));
  addVar(params, `${name}/moving_mean`, [channels], new Float32Array(channels), false);
  addVar(params, `${name}/moving_variance`, [channels], new Float32Array(channels).fill(1), false);
}

/** running = momentum * running + (1 - momentum) * batch, for every collected layer. */
export function updateMovingStats(params: Params, stats: BnStats[]): void {
  tf.tidy(() => {
    for (const s of stats) {
      const m = get(params, `${s.name}/moving_mean`);
      const v = get(params, `${s.name}/moving_variance`);
      m.assign(tf.add(tf.mul(m, BN_MOMENTUM), tf.mul(s.mean, 1 - BN_MOMENTUM)));
      v.assign(tf.add(tf.mul(v, BN_MOMENTUM), tf.mul(s.variance, 1 - BN_MOMENTUM)));
    }
  });
  for (const s of stats) tf.dispose([s.mean, s.variance]);
}

export const trainable = (params: Params): tf.Variable[] => [...params.values()].filter((v) => v.trainable);
