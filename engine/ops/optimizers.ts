/**
 * Adam and RMSprop whose update is one pass over each weight instead of ~12 element-wise ops
 * (each allocating a tensor): for the classifier's 31M-weight dense layer the stock RMSprop
 * was ~14 s of a step on the cpu backend. Drop-in subclasses of tfjs's optimizers: same slot
 * variables, names, getWeights/setWeights and config, so checkpoints stay interchangeable.
 * On a backend that does not keep float32 TypedArrays in JS memory (tensorflow, wasm) they
 * run the stock update. On the 'native' backend the per-element loop runs in C++ (installed by
 * engine/native/training.ts through setNativeOptimizers, so this file needs no addon), with the
 * same arithmetic: the two agree bit for bit.
 */
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { count } from '../kernels/util.js';
import { allocFloats, isPrivate } from '../buffer-pool.js';

/**
 * Element loops of the updates in native code; the Float64Array holds the constants as the JS
 * loops below use them (already rounded to float32). `out` may be `w`.
 */
export interface NativeOptimizers {
  backendName: string;
  /**
   * [b1, b2, 1 - b1, 1 - b2, lr, eps, lr / (1 - b1^t), 1 / (1 - b2^t)]; tf1: lr is already
   * bias-corrected, m and v are rounded before use and the last two are unused.
   */
  adam(
    w: Float32Array,
    out: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    params: Float64Array,
    tf1: boolean,
  ): void;
  /** [decay, 1 - decay, momentum, lr, eps]; mg null unless centered. */
  rmsprop(
    w: Float32Array,
    out: Float32Array,
    ms: Float32Array,
    mom: Float32Array,
    mg: Float32Array | null,
    g: Float32Array,
    params: Float64Array,
  ): void;
}

let nativeOps: NativeOptimizers | null = null;

/** Called once by the native backend's registration; null switches back to the JS loops. */
export function setNativeOptimizers(ops: NativeOptimizers | null): void {
  nativeOps = ops;
}

function active(): NativeOptimizers | null {
  return nativeOps !== null && tf.getBackend() === nativeOps.backendName ? nativeOps : null;
}

interface Slot {
  originalName: string;
  variable: Variable;
}

interface CpuLikeBackend {
  data: { get(dataId: object): { values?: unknown; refCount: number } };
}

type Gradients = Parameters<InstanceType<typeof tf.AdamOptimizer>['applyGradients']>[0];

/** The float32 array behind a tensor, or null when the active backend does not expose one. */
function floats(t: Tensor): Float32Array | null {
  const b = tf.backend() as unknown as Partial<CpuLikeBackend>;
  if (t.dtype !== 'float32' || !b.data || typeof b.data.get !== 'function') return null;
  const v = b.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

/**
 * A slot's array to update in place. Slots are the optimizer's private state, so writing in
 * place is safe unless some other tensor shares the buffer (a clone): then copy first.
 */
function writableSlot(slot: Variable): Float32Array {
  const b = tf.backend() as unknown as CpuLikeBackend;
  const rec = b.data.get(slot.dataId);
  const v = rec.values as Float32Array;
  if (rec.refCount <= 1) return v;
  const copy = tf.tensor(Float32Array.from(v), slot.shape, 'float32');
  slot.assign(copy);
  copy.dispose();
  return floats(slot)!;
}

/**
 * Where a weight's new values go. The native backend knows when nobody else can see the weight's
 * array (no other tensor shares it, no dataSync() handed it out: engine/buffer-pool.ts isPrivate); the
 * native update then writes it in place, which needs no storage from the pool (a 124 MB fresh
 * array page-faults for ~60 ms when the pool is at its cap). Otherwise a fresh array, since
 * values that users hold must not change.
 */
function weightOutput(value: Variable, W: Float32Array): Float32Array {
  const b = tf.backend() as unknown as CpuLikeBackend;
  return active() && b.data.get(value.dataId).refCount <= 1 && isPrivate(W) ? W : allocFloats(W.length);
}

function assignNew(value: Variable, values: Float32Array): void {
  if (floats(value) === values) return; // updated in place
  const t = tf.tensor(values, value.shape, 'float32');
  value.assign(t);
  t.dispose();
}

function entries(grads: Gradients): [string, Tensor | undefined][] {
  return Array.isArray(grads)
    ? grads.map((g) => [g.name, g.tensor])
    : Object.keys(grads).map((n) => [n, grads[n] as Tensor | undefined]);
}

interface FusedEntry {
  name: string;
  value: Variable;
  /** The gradient's and the weight's arrays; null for a weight without a gradient this step. */
  arrays: { G: Float32Array; W: Float32Array } | null;
}

/**
 * Each weight with the arrays the fused loop reads, or null when the stock update must run: a
 * weight that is not a registered variable (the stock update reports it), or a weight or
 * gradient that is not a float32 array of the same length in JS memory.
 */
function fusable(list: [string, Tensor | undefined][]): FusedEntry[] | null {
  const out: FusedEntry[] = [];
  for (const [name, g] of list) {
    const value = tf.engine().registeredVariables[name];
    if (!value) return null;
    if (!g) {
      out.push({ name, value, arrays: null });
      continue;
    }
    const G = floats(g);
    const W = floats(value);
    if (!G || !W || G.length !== W.length) return null;
    out.push({ name, value, arrays: { G, W } });
  }
  return out;
}

/** The value of a one-element variable (Adam's beta powers). */
function scalarOf(v: Variable): number {
  const x = v.dataSync()[0];
  if (x === undefined) throw new Error(`optimizer: '${v.name}' should hold one number, it is empty`);
  return x;
}

function slotFor(slots: Slot[], i: number, name: string, suffix: string, value: Variable): Variable {
  if (slots[i] == null) {
    slots[i] = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
  }
  return slots[i].variable;
}

interface AdamState {
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const fuse = fusable(entries(variableGradients));
    count('FusedAdam', fuse !== null);
    if (!fuse) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as AdamState;
    const f = Math.fround;
    const b1 = f(this.beta1);
    const b2 = f(this.beta2);
    const c1 = f(1 - this.beta1);
    const c2 = f(1 - this.beta2);
    const accB1 = scalarOf(s.accBeta1);
    const accB2 = scalarOf(s.accBeta2);
    const k1 = f(1 - accB1);
    const k2 = f(1 - accB2);
    const lr = f(this.learningRate);
    const eps = f(this.epsilon);
    // lr m/k1 / (sqrt(v/k2) + eps) with the per-step constants folded: one division per weight
    // instead of three (the division, not memory, bounded the 31M-weight update).
    const sm = lr / k1;
    const sv = 1 / k2;
    fuse.forEach(({ name, value, arrays }, i) => {
      const m = slotFor(s.accumulatedFirstMoment, i, name, 'm', value);
      const v = slotFor(s.accumulatedSecondMoment, i, name, 'v', value);
      if (!arrays) return;
      const { G, W } = arrays;
      const M = writableSlot(m);
      const V = writableSlot(v);
      const out = weightOutput(value, W);
      const native = active();
      if (native) {
        native.adam(W, out, M, V, G, Float64Array.of(b1, b2, c1, c2, lr, eps, sm, sv), false);
      } else {
        for (let j = 0; j < W.length; j++) {
          const gj = G[j]!;
          const mj = b1 * M[j]! + c1 * gj;
          const vj = b2 * V[j]! + c2 * gj * gj;
          M[j] = mj;
          V[j] = vj;
          out[j] = W[j]! - (mj * sm) / (Math.sqrt(vj * sv) + eps);
        }
      }
      assignNew(value, out);
    });
    tf.tidy(() => {
      s.accBeta1.assign(tf.scalar(f(accB1 * b1)));
      s.accBeta2.assign(tf.scalar(f(accB2 * b2)));
    });
    this.incrementIterations();
  }

  /**
   * Adam's beta powers. With the slots (getWeights) they are all an exact resume needs: setWeights
   * recomputes them with pow, which rounds differently from the running products.
   */
  betaPowers(): [number, number] {
    const s = this as unknown as AdamState;
    return [scalarOf(s.accBeta1), scalarOf(s.accBeta2)];
  }

  /** After setWeights: the beta powers betaPowers() saved. */
  restoreBetaPowers(p: readonly [number, number]): void {
    const s = this as unknown as AdamState;
    tf.tidy(() => {
      s.accBeta1.assign(tf.scalar(p[0]));
      s.accBeta2.assign(tf.scalar(p[1]));
    });
  }
}

interface RmsState {
  centered: boolean;
  accumulatedMeanSquares: Slot[];
  accumulatedMoments: Slot[];
  accumulatedMeanGrads: Slot[];
}

export class FusedRMSPropOptimizer extends tf.RMSPropOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const fuse = fusable(entries(variableGradients));
    count('FusedRMSProp', fuse !== null);
    if (!fuse) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as RmsState;
    const f = Math.fround;
    const decay = f(this.decay);
    const c = f(1 - this.decay);
    const mom = f(this.momentum);
    const lr = f(this.learningRate);
    const eps = f(this.epsilon);
    fuse.forEach(({ name, value, arrays }, i) => {
      const ms = slotFor(s.accumulatedMeanSquares, i, name, 'rms', value);
      const mo = slotFor(s.accumulatedMoments, i, name, 'momentum', value);
      const mg = s.centered ? slotFor(s.accumulatedMeanGrads, i, name, 'mg', value) : null;
      if (!arrays) return;
      const { G, W } = arrays;
      const MS = writableSlot(ms);
      const MO = writableSlot(mo);
      const MG = mg ? writableSlot(mg) : null;
      const out = weightOutput(value, W);
      const native = active();
      if (native) {
        native.rmsprop(W, out, MS, MO, MG, G, Float64Array.of(decay, c, mom, lr, eps));
      } else if (MG) {
        for (let j = 0; j < W.length; j++) {
          const gj = G[j]!;
          const msj = decay * MS[j]! + c * gj * gj;
          const mgj = decay * MG[j]! + c * gj;
          const moj = mom * MO[j]! + (gj * lr) / Math.sqrt(msj - (mgj * mgj + eps));
          MS[j] = msj;
          MG[j] = mgj;
          MO[j] = moj;
          out[j] = W[j]! - moj;
        }
      } else {
        for (let j = 0; j < W.length; j++) {
          const gj = G[j]!;
          const msj = decay * MS[j]! + c * gj * gj;
          const moj = mom * MO[j]! + (gj * lr) / Math.sqrt(msj + eps);
          MS[j] = msj;
          MO[j] = moj;
          out[j] = W[j]! - moj;
        }
      }
      assignNew(value, out);
    });
    this.incrementIterations();
  }
}

/**
 * One Adam step for code that keeps its own moment variables (TF1's form, as dcgan/adam.ts):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; value -= lr m / (sqrt(v) + epsilon), with lr
 * already bias-corrected by the caller. Returns false, changing nothing, when the tensors are
 * not float32 arrays in JS memory; the caller then runs its tensor-op update.
 */
export function fusedAdamUpdate(p: {
  value: Variable;
  m: Variable;
  v: Variable;
  grad: Tensor;
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}): boolean {
  const G = floats(p.grad);
  const W = floats(p.value);
  if (!G || !W || G.length !== W.length || floats(p.m)?.length !== W.length || floats(p.v)?.length !== W.length) {
    count('FusedAdamUpdate', false);
    return false;
  }
  count('FusedAdamUpdate', true);
  const f = Math.fround;
  const b1 = f(p.beta1);
  const b2 = f(p.beta2);
  const c1 = f(1 - p.beta1);
  const c2 = f(1 - p.beta2);
  const lr = f(p.lr);
  const eps = f(p.epsilon);
  const M = writableSlot(p.m);
  const V = writableSlot(p.v);
  const out = weightOutput(p.value, W);
  const native = active();
  if (native) {
    native.adam(W, out, M, V, G, Float64Array.of(b1, b2, c1, c2, lr, eps, 0, 0), true);
    assignNew(p.value, out);
    return true;
  }
  for (let j = 0; j < W.length; j++) {
    const g = G[j]!;
    const mj = f(b1 * M[j]! + c1 * g);
    const vj = f(b2 * V[j]! + c2 * g * g);
    M[j] = mj;
    V[j] = vj;
    out[j] = W[j]! - (mj / (Math.sqrt(vj) + eps)) * lr;
  }
  assignNew(p.value, out);
  return true;
}

/** Same arguments and defaults as tf.train.adam. */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}

/** Same arguments and defaults as tf.train.rmsprop. */
export function fusedRmsprop(
  learningRate: number,
  decay = 0.9,
  momentum = 0,
  epsilon?: number,
  centered = false,
): FusedRMSPropOptimizer {
  return new FusedRMSPropOptimizer(learningRate, decay, momentum, epsilon, centered);
}
