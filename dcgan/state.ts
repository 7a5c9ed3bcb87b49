/**
 * Everything a training run is, in one value: networks, both optimisers, the step counter and
 * the fixed latent batch of the sample grids. A checkpoint is exactly this value on disk.
 */
import { tf, Tf1Adam } from '../engine/index.js';
import type { ModelConfig, TrainOptions } from './config.js';
import { type Params, trainable } from './layers.js';
import { createNetworks, disposeNetworks, type Networks } from './model.js';

/** Hyper-parameters that may change on --resume (architecture may not). */
export interface TrainState {
  net: Networks;
  optG: Tf1Adam;
  optD: Tf1Adam;
  /** Iterations completed. */
  iteration: number;
  seed: number;
  train: TrainOptions;
  /** The latent batch every sample grid is drawn from: [rows*cols, zDim]. */
  fixedZ: Float32Array;
  /** Its conditions (conditional models): [rows*cols, condDim]. */
  fixedY: Float32Array | null;
  /** Posters in the training set when the run started (a different set changes the batches). */
  datasetSize: number;
}

export const paramNames = (p: Params): string[] => [...p.entries()].filter(([, v]) => v.trainable).map(([k]) => k);

export function createState(config: ModelConfig, seed: number, train: TrainOptions, fixedZ: Float32Array, fixedY: Float32Array | null, datasetSize: number): TrainState {
  const net = createNetworks(config, seed);
  return {
    net,
    optG: new Tf1Adam(trainable(net.g), { learningRate: train.learningRateG, beta1: train.beta1 }),
    optD: new Tf1Adam(trainable(net.d), { learningRate: train.learningRateD, beta1: train.beta1 }),
    iteration: 0,
    seed,
    train,
    fixedZ,
    fixedY,
    datasetSize,
  };
}

/** Every tensor of the state by a stable name, in a stable order. */
export function namedTensors(s: TrainState): [string, tf.Variable][] {
  const out: [string, tf.Variable][] = [];
  for (const [k, v] of s.net.g) out.push([`g/${k}`, v]);
  for (const [k, v] of s.net.d) out.push([`d/${k}`, v]);
  for (const [tag, opt, p] of [['adam_g', s.optG, s.net.g], ['adam_d', s.optD, s.net.d]] as const) {
    paramNames(p).forEach((k, i) => {
      out.push([`${tag}/m/${k}`, opt.m[i]!]);
      out.push([`${tag}/v/${k}`, opt.v[i]!]);
    });
  }
  return out;
}

export function disposeState(s: TrainState): void {
  s.optG.dispose();
  s.optD.dispose();
  disposeNetworks(s.net);
}
