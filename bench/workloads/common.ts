/** Timing shared by the workloads: warm-up runs, then the mean of timed runs. */
export interface Timed {
  s_per_step: number;
  /** CPU seconds of the whole process (every thread) per step: what the step cost the cores,
   *  however many other processes share them. */
  cpu_s_per_step: number;
  steps: number;
}

export async function timeSteps(step: () => void | Promise<void>, warmup: number, iters: number): Promise<Timed> {
  for (let i = 0; i < warmup; i++) await step();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await step();
  const c = process.cpuUsage(c0);
  return {
    s_per_step: (performance.now() - t0) / 1000 / iters,
    cpu_s_per_step: (c.user + c.system) / 1e6 / iters,
    steps: iters,
  };
}

/** Uniform [-1, 1) values from a small LCG: synthetic inputs, throughput only. */
export function uniform(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

export const round = (v: number, digits = 3): number => +v.toFixed(digits);
