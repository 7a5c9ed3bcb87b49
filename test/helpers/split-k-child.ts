/**
 * Child process of the split-K test (native-kernels.test.ts): long-K matrix products on the addon
 * directly, checked against a plain JS product, on every SIMD path named in argv. Run with
 * OMP_THREAD_LIMIT=1 so OpenMP starts fewer threads than the kernels ask for; prints one JSON line.
 */
import { loadAddon } from '../../engine/native/addon.js';

const r = loadAddon();
if (!('addon' in r)) {
  console.log(JSON.stringify({ error: r.reason }));
  process.exit(1);
}
const addon = r.addon;
let seed = 1;
const rand = (n: number): Float32Array =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);

function worstError(M: number, N: number, K: number): number {
  const a = rand(M * K),
    b = rand(K * N),
    c = new Float32Array(M * N).fill(Number.NaN);
  addon.matmul(a, b, c, 1, 1, M, N, K, false, false, null, 0, 0);
  let worst = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
      const d = Math.abs(c[i * N + j]! - s);
      if (!(d <= worst)) worst = d;
    }
  return worst;
}

const rows: { simd: string; worst: number }[] = [];
for (const simd of process.argv.slice(2)) {
  addon.setSimd(simd);
  // The second, smaller product reuses the first one's partial-sum buffers: a thread's buffer
  // that nobody zeroes then still holds the first product's sums.
  rows.push({ simd, worst: Math.max(worstError(64, 64, 3200), worstError(16, 32, 3100)) });
}
const info = addon.info();
console.log(JSON.stringify({ threads: info.threads, threadLimit: info.threadLimit, rows }));
