/**
 * Everything a training run is, in one value: networks, both optimisers, the step counter and
 * the fixed latent batch of the sample grids. A checkpoint is exactly this value on disk.
 */
import { tf, Tf1Adam } from '../engine/index.js';
import type { ModelConfig, TrainOptions } from './config.js';
import { type Params, trainable } from './layers.js';
import { createNetworks, disposeNetworks, type Networks } from './model.js';
import { emaDecayAt, type Recipe, SEED_RECIPE } from './recipe.js';

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
  recipe: Recipe;
  /** The EMA of every G variable (weights and batch-norm running averages); null without EMA. */
  emaG: Params | null;
}

export const paramNames = (p: Params): string[] => [...p.entries()].filter(([, v]) => v.trainable).map(([k]) => k);

/** A copy of G's variables to average into; starts equal to G. */
export function cloneParams(p: Params): Params {
  return new Map([...p].map(([k, v]) => [k, tf.variable(v.clone(), false)]));
}

export function createState(
  config: ModelConfig,
  seed: number,
  train: TrainOptions,
  fixedZ: Float32Array,
  fixedY: Float32Array | null,
  datasetSize: number,
  recipe: Recipe = SEED_RECIPE,
): TrainState {
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
    recipe,
    emaG: recipe.emaDecay > 0 ? cloneParams(net.g) : null,
  };
}

/** ema = d*ema + (1-d)*g after G's updates of iteration t, with the warm-up of emaDecayAt. */
export function updateEma(s: TrainState): void {
  if (!s.emaG) return;
  const d = emaDecayAt(s.recipe.emaDecay, s.iteration);
  tf.tidy(() => {
    for (const [k, e] of s.emaG!) e.assign(tf.add(tf.mul(e, d), tf.mul(s.net.g.get(k)!, 1 - d)));
  });
}

/** The networks to sample from: G's EMA when the run keeps one, else G itself. */
export const samplingNetworks = (s: TrainState): Networks => (s.emaG ? { ...s.net, g: s.emaG } : s.net);

/** Every tensor of the state by a stable name, in a stable order. */
export function namedTensors(s: TrainState): [string, tf.Variable][] {
  const out: [string, tf.Variable][] = [];
  for (const [k, v] of s.net.g) out.push([`g/${k}`, v]);
  for (const [k, v] of s.net.d) out.push([`d/${k}`, v]);
  for (const [k, v] of s.emaG ?? []) out.push([`ema_g/${k}`, v]);
  for (const [tag, opt, p] of [
    ['adam_g', s.optG, s.net.g],
    ['adam_d', s.optD, s.net.d],
  ] as const) {
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
  for (const v of s.emaG?.values() ?? []) v.dispose();
  disposeNetworks(s.net);
}
