/**
 * Batch-norm training and optimizer kernels of the C++ addon (addon_training.cc),
 * registered on the 'native' backend over the JS fast kernels. The batch-norm kernels replace
 * engine/kernels/batchnorm-train.ts's on float32 inputs (anything else runs the JS kernel); the
 * optimizer loops are handed to engine/ops/optimizers.ts, which keeps the slot bookkeeping.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { allocFloats } from '../buffer-pool.js';
import {
  BN_TRAIN,
  BN_TRAIN_GRAD,
  type BnActivation,
  batchNormTrainGradJs,
  batchNormTrainJs,
  bnDims,
} from '../kernels/batchnorm-train.js';
import { setNativeOptimizers } from '../ops/optimizers.js';
import { type Args, count, output } from '../kernels/util.js';
import type { NativeAddon } from './addon.js';

/** The addon functions of addon_training.cc. */
export interface TrainingAddon {
  bnTrainForward(
    x: Float32Array,
    bias: Float32Array | null,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    M: number,
    C: number,
    eps: number,
    act?: number,
    alpha?: number,
  ): void;
  bnTrainBackward(
    dy: Float32Array,
    x: Float32Array,
    bias: Float32Array | null,
    gamma: Float32Array,
    beta: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dbias: Float32Array | null,
    M: number,
    C: number,
    eps: number,
    act?: number,
    alpha?: number,
  ): void;
  adamUpdate(
    w: Float32Array,
    out: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    params: Float64Array,
    tf1: boolean,
  ): void;
  rmspropUpdate(
    w: Float32Array,
    out: Float32Array,
    ms: Float32Array,
    mom: Float32Array,
    mg: Float32Array | null,
    g: Float32Array,
    params: Float64Array,
  ): void;
}

function hasTraining(addon: NativeAddon): addon is NativeAddon & TrainingAddon {
  const a = addon as NativeAddon & Partial<TrainingAddon>;
  return (
    typeof a.bnTrainForward === 'function' &&
    typeof a.bnTrainBackward === 'function' &&
    typeof a.adamUpdate === 'function' &&
    typeof a.rmspropUpdate === 'function'
  );
}

/** training.h's BnAct codes; an activation the addon lacks runs the JS kernel. */
const ACT_CODES: Record<BnActivation, number> = { linear: 0, relu: 1, leakyrelu: 2 };

function actCode(attrs: Args['attrs']): number | undefined {
  return ACT_CODES[((attrs.activation as BnActivation | undefined) ?? 'linear') as BnActivation];
}

/** The float32 array behind each tensor, or null if any is not one of the right length. */
function arrays<const T extends readonly [TensorInfo | undefined, number][]>(
  backend: Args['backend'],
  ts: T,
): { [K in keyof T]: Float32Array } | null {
  const out: Float32Array[] = [];
  for (const [t, n] of ts) {
    if (!t || t.dtype !== 'float32') return null;
    const v = backend.data.get(t.dataId).values;
    if (!(v instanceof Float32Array) || v.length !== n) return null;
    out.push(v);
  }
  return out as { [K in keyof T]: Float32Array };
}

export function trainingKernelConfigs(addon: NativeAddon, backendName: string): KernelConfig[] {
  if (!hasTraining(addon)) return [];
  setNativeOptimizers({
    backendName,
    adam: (w, out, m, v, g, params, tf1) => addon.adamUpdate(w, out, m, v, g, params, tf1),
    rmsprop: (w, out, ms, mom, mg, g, params) => addon.rmspropUpdate(w, out, ms, mom, mg, g, params),
  });

  const forward = (args: Args): TensorInfo[] => {
    const { x, bias, gamma, beta } = args.inputs;
    const d = x ? bnDims(x) : null;
    const a =
      d &&
      arrays(args.backend, [
        [x, d.M * d.C],
        [bias, d.C],
        [gamma, d.C],
        [beta, d.C],
      ]);
    const act = actCode(args.attrs);
    if (!x || !d || !a || act === undefined) return batchNormTrainJs(args);
    const Y = allocFloats(d.M * d.C);
    const mean = new Float32Array(d.C);
    const variance = new Float32Array(d.C);
    const alpha = (args.attrs.alpha as number | undefined) ?? 0;
    const eps = args.attrs.varianceEpsilon as number;
    addon.bnTrainForward(a[0], a[1], a[2], a[3], Y, mean, variance, d.M, d.C, eps, act, alpha);
    count(BN_TRAIN, true);
    const b = args.backend;
    return [output(b, x.shape, 'float32', Y), output(b, [d.C], 'float32', mean), output(b, [d.C], 'float32', variance)];
  };

  const backward = (args: Args): TensorInfo[] => {
    const { dy, x, bias, gamma, beta, mean, variance } = args.inputs;
    const d = x ? bnDims(x) : null;
    const act = actCode(args.attrs);
    const a =
      d &&
      arrays(args.backend, [
        [dy, d.M * d.C],
        [x, d.M * d.C],
        [bias, d.C],
        [gamma, d.C],
        [beta, d.C],
        [mean, d.C],
        [variance, d.C],
      ]);
    if (!x || !d || !a || act === undefined) return batchNormTrainGradJs(args);
    const DX = allocFloats(d.M * d.C);
    const [dgamma, dbeta, dbias] = [0, 1, 2].map(() => new Float32Array(d.C)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const alpha = (args.attrs.alpha as number | undefined) ?? 0;
    const eps = args.attrs.varianceEpsilon as number;
    addon.bnTrainBackward(...a, DX, dgamma, dbeta, dbias, d.M, d.C, eps, act, alpha);
    count(BN_TRAIN_GRAD, true);
    const b = args.backend;
    return [output(b, x.shape, 'float32', DX), ...[dgamma, dbeta, dbias].map((v) => output(b, [d.C], 'float32', v))];
  };

  return [
    { kernelName: BN_TRAIN, backendName, kernelFunc: forward as unknown as KernelFunc },
    { kernelName: BN_TRAIN_GRAD, backendName, kernelFunc: backward as unknown as KernelFunc },
  ];
}
