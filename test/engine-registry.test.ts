/**
 * engine/registry.ts: the one table of the native backend's kernel chains. Registration builds
 * the chains from the kernel lists and refuses to start when they disagree with the table, so
 * here: every kernel the table names is registered, and the C++ layer really runs first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NATIVE_KERNELS, tf } from '../engine/index.js';
import { registerNativeBackend } from '../engine/native/backend.js';
import { nativeCounts } from '../engine/native/elementwise.js';

test('every kernel of the table is registered on the native backend, each chain ending where tfjs has a kernel', () => {
  const status = registerNativeBackend();
  assert.ok(status.ok, `the native addon is unavailable: ${status.ok ? '' : status.reason}`);
  const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
  for (const [name, chain] of Object.entries(NATIVE_KERNELS)) {
    assert.ok(tf.getKernel(name, 'native'), `${name} is not registered on native`);
    assert.equal(
      chain.includes('tfjs cpu'),
      cpu.has(name),
      `${name}: the chain ends in tfjs cpu exactly when tfjs has the kernel`,
    );
  }
});

test('Relu on the native backend runs the C++ kernel the table puts first', async () => {
  registerNativeBackend();
  assert.deepEqual(NATIVE_KERNELS.Relu, ['C++', 'JS', 'tfjs cpu']);
  await tf.setBackend('native');
  const before = nativeCounts.get('Relu') ?? 0;
  const y = tf.relu(tf.tensor1d([-1, 2, -3, 4]));
  assert.deepEqual(Array.from(await y.data()), [0, 2, 0, 4]);
  assert.equal((nativeCounts.get('Relu') ?? 0) - before, 1);
  await tf.setBackend('cpu');
});
