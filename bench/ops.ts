/**
 * The non-convolution ops of a DCGAN step (batch 60, 64x64) and a classifier step (161x106,
 * batch 32) at their real shapes: the cpu backend's kernel against the project's fast kernel,
 * timed alternately in the same process so the ratio holds on a busy shared machine.
 * Run alone: `node dist/bench/ops.js` (JSON lines on stdout).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf, batchNormTrain, fusedAdam, fusedRmsprop } from '../engine/index.js';
import { registerFastCpuBackend } from '../engine/kernels/fast-cpu-backend.js';

const FAST = 'fast-ops-bench';

interface Case {
  workload: 'dcgan' | 'classifier';
  op: string;
  shape: number[];
  /** Builds the inputs on the active backend and returns the timed call. */
  setup: () => { run: () => void; dispose: () => void };
}

function rnd(shape: number[], lo = -1, hi = 1): Tensor {
  return tf.randomUniform(shape, lo, hi, 'float32', 7);
}

function kernelCase(
  workload: Case['workload'],
  op: string,
  shape: number[],
  inputs: () => Record<string, Tensor>,
  attrs: Record<string, unknown> = {},
): Case {
  return {
    workload,
    op,
    shape,
    setup: () => {
      const ins = inputs();
      return {
        run: () => tf.dispose(tf.engine().runKernel(op, ins, attrs as never) as Tensor | Tensor[]),
        dispose: () => tf.dispose(Object.values(ins)),
      };
    },
  };
}

/** One optimizer step on a weight of `shape`: the stock tfjs update on cpu, the fused one on fast. */
function optimizerCase(workload: Case['workload'], op: 'AdamUpdate' | 'RMSPropUpdate', shape: number[]): Case {
  return {
    workload,
    op,
    shape,
    setup: () => {
      const fast = tf.getBackend() === FAST;
      const w = tf.variable(rnd(shape), true, `bench-${op}-${fast}`);
      const g = rnd(shape, -1e-2, 1e-2);
      const opt =
        op === 'AdamUpdate'
          ? fast
            ? fusedAdam(2e-4, 0.5)
            : tf.train.adam(2e-4, 0.5)
          : fast
            ? fusedRmsprop(1e-4)
            : tf.train.rmsprop(1e-4);
      const grads = [{ name: w.name, tensor: g }];
      return {
        run: () => opt.applyGradients(grads),
        dispose: () => {
          opt.dispose();
          tf.dispose([w, g]);
        },
      };
    },
  };
}

/**
 * Training-mode batch norm forward + backward (dx, dgamma, dbeta): tf.moments + tf.batchNorm
 * through autodiff on cpu, the fused batchNormTrain op on fast.
 */
function batchNormTrainCase(shape: number[]): Case {
  return {
    workload: 'dcgan',
    op: 'BatchNormTrain+grad',
    shape,
    setup: () => {
      const fast = tf.getBackend() === FAST;
      const C = shape[shape.length - 1];
      if (C === undefined) throw new Error(`BatchNormTrain bench: shape [${shape.join(', ')}] has no channel axis`);
      const x = rnd(shape);
      const gamma = rnd([C], 0.5, 1.5);
      const beta = rnd([C]);
      const dy = rnd(shape);
      const f = (xt: Tensor, g: Tensor, b: Tensor): Tensor => {
        if (fast) return batchNormTrain(xt, g, b, 1e-5).y.mul(dy).sum();
        const { mean, variance } = tf.moments(xt, [0, 1, 2]);
        return tf
          .batchNorm(xt, mean, variance, b as never, g as never, 1e-5)
          .mul(dy)
          .sum();
      };
      return {
        run: () => tf.dispose(tf.grads(f as never)([x, gamma, beta])),
        dispose: () => tf.dispose([x, gamma, beta, dy]),
      };
    },
  };
}

/** An activation's input gradient: tfjs's formula on cpu, the fused gradient kernel on fast. */
function activationGradCase(workload: Case['workload'], op: 'ReluGrad' | 'LeakyReluGrad', shape: number[]): Case {
  return {
    workload,
    op,
    shape,
    setup: () => {
      const fast = tf.getBackend() === FAST;
      const x = rnd(shape);
      const dy = rnd(shape);
      const stock = (): Tensor =>
        op === 'ReluGrad'
          ? tf.mul(dy, tf.cast(tf.step(x), 'float32'))
          : tf.where(tf.greater(x, 0), dy, tf.mul(dy, 0.2));
      const fused = (): Tensor =>
        tf
          .engine()
          .runKernel(
            op === 'ReluGrad' ? 'PosterStudioReluGrad' : 'PosterStudioLeakyReluGrad',
            { dy, x },
            { alpha: 0.2 },
          ) as Tensor;
      return {
        run: () => tf.dispose(tf.tidy(fast ? fused : stock)),
        dispose: () => tf.dispose([x, dy]),
      };
    },
  };
}

const DCGAN_X = [60, 32, 32, 64];
const DCGAN_Y = [60, 16, 16, 128];
const CLS_X = [32, 159, 104, 32];

export const CASES: Case[] = [
  kernelCase('dcgan', 'Add', DCGAN_X, () => ({ a: rnd(DCGAN_X), b: rnd([64]) })),
  kernelCase('dcgan', 'Multiply', DCGAN_Y, () => ({ a: rnd([1, 1, 1, 128]), b: rnd(DCGAN_Y) })),
  kernelCase('dcgan', 'Multiply', DCGAN_X, () => ({ a: rnd(DCGAN_X), b: rnd(DCGAN_X) })),
  kernelCase('dcgan', 'Sub', DCGAN_X, () => ({ a: rnd(DCGAN_X), b: rnd([1, 1, 1, 64]) })),
  kernelCase('dcgan', 'RealDiv', DCGAN_Y, () => ({ a: rnd(DCGAN_Y), b: tf.scalar(3) })),
  kernelCase('dcgan', 'Sum', DCGAN_X, () => ({ x: rnd(DCGAN_X) }), { axis: [0, 1, 2], keepDims: false }),
  kernelCase('dcgan', 'Mean', DCGAN_Y, () => ({ x: rnd(DCGAN_Y) }), { axis: [0, 1, 2], keepDims: true }),
  kernelCase(
    'dcgan',
    'FusedBatchNorm',
    DCGAN_X,
    () => ({ x: rnd(DCGAN_X), mean: rnd([64]), variance: rnd([64], 0.5, 2), offset: rnd([64]), scale: rnd([64]) }),
    {
      varianceEpsilon: 1e-5,
    },
  ),
  kernelCase('dcgan', 'Relu', DCGAN_X, () => ({ x: rnd(DCGAN_X) })),
  kernelCase('dcgan', 'LeakyRelu', DCGAN_X, () => ({ x: rnd(DCGAN_X) }), { alpha: 0.2 }),
  kernelCase('dcgan', 'Step', DCGAN_X, () => ({ x: rnd(DCGAN_X) }), { alpha: 0 }),
  kernelCase('dcgan', 'Greater', DCGAN_X, () => ({ a: rnd(DCGAN_X), b: tf.scalar(0) })),
  kernelCase('dcgan', 'Select', DCGAN_X, () => ({
    condition: tf.greater(rnd(DCGAN_X), 0),
    t: rnd(DCGAN_X),
    e: rnd(DCGAN_X),
  })),
  kernelCase('dcgan', 'Square', DCGAN_X, () => ({ x: rnd(DCGAN_X) })),
  kernelCase('dcgan', 'Tanh', [60, 64, 64, 3], () => ({ x: rnd([60, 64, 64, 3]) })),
  kernelCase('dcgan', 'Sqrt', [5, 5, 256, 512], () => ({ x: rnd([5, 5, 256, 512], 0, 1) })),
  kernelCase('dcgan', 'Tile', [60, 16, 16, 128], () => ({ x: rnd([1, 1, 1, 128]) }), { reps: [60, 16, 16, 1] }),
  activationGradCase('dcgan', 'LeakyReluGrad', DCGAN_X),
  activationGradCase('dcgan', 'ReluGrad', DCGAN_X),
  batchNormTrainCase(DCGAN_X),
  batchNormTrainCase([60, 8, 8, 256]),
  optimizerCase('dcgan', 'AdamUpdate', [5, 5, 256, 512]),
  kernelCase('classifier', 'MaxPool', CLS_X, () => ({ x: rnd(CLS_X) }), { filterSize: 2, strides: 2, pad: 'valid' }),
  kernelCase(
    'classifier',
    'MaxPoolGrad',
    CLS_X,
    () => ({ dy: rnd([32, 79, 52, 32]), input: rnd(CLS_X), output: rnd([32, 79, 52, 32]) }),
    {
      filterSize: 2,
      strides: 2,
      pad: 'valid',
    },
  ),
  kernelCase('classifier', 'Add', [32, 161, 106, 32], () => ({ a: rnd([32, 161, 106, 32]), b: rnd([32]) })),
  kernelCase('classifier', 'Relu', [32, 161, 106, 32], () => ({ x: rnd([32, 161, 106, 32]) })),
  activationGradCase('classifier', 'ReluGrad', [32, 161, 106, 32]),
  kernelCase('classifier', 'Sum', [32, 161, 106, 32], () => ({ x: rnd([32, 161, 106, 32]) }), {
    axis: [0, 1, 2],
    keepDims: false,
  }),
  optimizerCase('classifier', 'RMSPropUpdate', [60800, 512]),
];

/** Milliseconds of one call: the minimum over alternating reps, stopping after ~1.5 s per backend. */
async function timeBoth(c: Case): Promise<{ cpu: number; fast: number }> {
  const side = async (name: string) => {
    await tf.setBackend(name);
    const ready = c.setup();
    ready.run(); // warm-up: compiles the loops, faults the pages in
    return { name, ready, best: Infinity, spent: 0 };
  };
  const cpu = await side('cpu');
  const fast = await side(FAST);
  for (let rep = 0; rep < 5; rep++) {
    for (const s of [cpu, fast]) {
      if (rep > 0 && s.spent > 1500) continue;
      await tf.setBackend(s.name);
      const t0 = performance.now();
      s.ready.run();
      const ms = performance.now() - t0;
      s.spent += ms;
      s.best = Math.min(s.best, ms);
    }
  }
  for (const s of [cpu, fast]) {
    await tf.setBackend(s.name);
    s.ready.dispose();
  }
  return { cpu: cpu.best, fast: fast.best };
}

export async function benchOps(): Promise<Record<string, unknown>[]> {
  const previous = tf.getBackend();
  registerFastCpuBackend(FAST);
  await tf.setBackend('cpu');
  // The cpu backend greets Node users with a banner on first use; not part of a benchmark's output.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  const rows: Record<string, unknown>[] = [];
  for (const c of CASES) {
    const t = await timeBoth(c);
    rows.push({
      bench: 'op',
      workload: c.workload,
      op: c.op,
      shape: c.shape.join('x'),
      ms_cpu: Number(t.cpu.toFixed(2)),
      ms_fast: Number(t.fast.toFixed(2)),
      speedup: Number((t.cpu / t.fast).toFixed(1)),
    });
  }
  if (previous) await tf.setBackend(previous);
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const row of await benchOps()) process.stdout.write(`${JSON.stringify(row)}\n`);
}
