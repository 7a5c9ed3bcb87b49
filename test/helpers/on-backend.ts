import { tf } from '../../engine/tf.js';

/** Runs fn on a backend and returns the values (and shape) it computed, for kernel comparisons. */
export async function on(backend: string, fn: () => tf.Tensor): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  // The cpu backend greets Node users with a banner on first use.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  const t = tf.tidy(fn);
  const out = { values: t.dataSync() as Float32Array, shape: t.shape };
  t.dispose();
  return out;
}
