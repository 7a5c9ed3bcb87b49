/**
 * Adam as TensorFlow 1 computes it (the seed's engine), with its state in plain variables so a
 * checkpoint can store and restore it exactly; tf.train.adam keeps its step count in a form that
 * does not round-trip bit for bit.
 */
import { tf } from '../src/tf/tf.js';

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  step = 0;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(readonly vars: tf.Variable[], readonly opts: AdamOptions) {
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /** One update; `grads` maps variable names (as tf.variableGrads returns them) to gradients. */
  apply(grads: Record<string, tf.Tensor>): void {
    this.step++;
    const { learningRate: lr, beta1: b1 } = this.opts;
    const b2 = this.beta2;
    const lrT = (lr * Math.sqrt(1 - b2 ** this.step)) / (1 - b1 ** this.step);
    tf.tidy(() => {
      this.vars.forEach((x, i) => {
        const g = grads[x.name];
        if (!g) return;
        const m = this.m[i]!;
        const v = this.v[i]!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        x.assign(tf.sub(x, tf.mul(tf.div(m, tf.add(tf.sqrt(v), this.epsilon)), lrT)));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
