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
    const eps = this.epsilon;
    this.vars.forEach((x, i) => {
      const g = grads[x.name];
      if (!g) return;
      // One fused pass in JS instead of eleven element-wise tensor ops: on the cpu-based backends
      // those ops cost as much as the convolutions for a 5M-parameter network.
      const gv = g.dataSync() as Float32Array;
      const mv = this.m[i]!.dataSync() as Float32Array;
      const vv = this.v[i]!.dataSync() as Float32Array;
      const xv = x.dataSync() as Float32Array;
      const n = gv.length;
      const m2 = new Float32Array(n);
      const v2 = new Float32Array(n);
      const x2 = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const gk = gv[k]!;
        const mk = b1 * mv[k]! + (1 - b1) * gk;
        const vk = b2 * vv[k]! + (1 - b2) * gk * gk;
        m2[k] = mk;
        v2[k] = vk;
        x2[k] = xv[k]! - (lrT * m2[k]!) / (Math.sqrt(v2[k]!) + eps);
      }
      tf.tidy(() => {
        this.m[i]!.assign(tf.tensor(m2, x.shape, 'float32'));
        this.v[i]!.assign(tf.tensor(v2, x.shape, 'float32'));
        x.assign(tf.tensor(x2, x.shape, 'float32'));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
