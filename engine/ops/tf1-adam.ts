/**
 * Adam as TensorFlow 1 computes it (the DCGAN seed's engine: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
 * epsilon outside the square root), with its state in plain variables (m, v) and an integer step,
 * so a checkpoint stores and restores it exactly. The classifier's Adam is tfjs's formula
 * (FusedAdamOptimizer in optimizers.ts, exact state: getWeights() + betaPowers()). The update
 * itself is the shared fused one (one pass per weight, in C++ on the native backend).
 */
import { tf } from '../tf.js';
import { fusedAdamUpdate } from './optimizers.js';

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2?: number;
  epsilon?: number;
}

export class Tf1Adam {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  step = 0;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(
    readonly vars: tf.Variable[],
    readonly opts: AdamOptions,
  ) {
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    // In a tidy so the zeros' own handle goes: a variable that is the only holder of its buffer
    // is updated in place.
    this.m = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  /** One update; `grads` maps variable names (as tf.variableGrads returns them) to gradients. */
  apply(grads: Record<string, tf.Tensor>): void {
    this.step++;
    const { learningRate: lr, beta1 } = this.opts;
    const beta2 = this.beta2;
    const lrT = (lr * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    const epsilon = this.epsilon;
    this.vars.forEach((value, i) => {
      const grad = grads[value.name];
      if (!grad) return;
      const m = this.m[i]!;
      const v = this.v[i]!;
      if (fusedAdamUpdate({ value, m, v, grad, lr: lrT, beta1, beta2, epsilon })) return;
      // Backends whose tensors are not arrays in JS memory (wasm, tensorflow): the same update
      // as tensor ops.
      tf.tidy(() => {
        const m2 = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
        value.assign(tf.sub(value, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), epsilon)), lrT)));
        m.assign(m2);
        v.assign(v2);
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
