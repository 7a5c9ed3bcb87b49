/**
 * The native backend recycles the storage of disposed kernel outputs (engine/buffer-pool.ts). Recycling
 * must never hand out an array that a caller still holds: data read with dataSync, or storage that
 * two tensors share.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../engine/tf.js';
import { registerNativeBackend } from '../engine/native/backend.js';
import {
  POOL_MIN_ELEMENTS,
  allocFloats,
  drainPool,
  poolIdleBytes,
  poolStats,
  setPoolLimit,
} from '../engine/buffer-pool.js';

const N = POOL_MIN_ELEMENTS * 2;

before(async () => {
  assert.ok(registerNativeBackend().ok, 'the native addon must load for these tests');
  await tf.setBackend('native');
  drainPool();
});

test('a disposed kernel output is reused by the next kernel of the same size', () => {
  const x = tf.fill([N], 2);
  const a = tf.relu(x);
  a.dispose();
  const hits = poolStats.hits;
  const b = tf.relu(x);
  assert.equal(poolStats.hits, hits + 1);
  assert.equal(b.dataSync()[N - 1], 2);
  tf.dispose([x, b]);
});

test('data read with dataSync keeps its values after the tensor is disposed and others run', () => {
  const x = tf.fill([N], 3);
  const a = tf.relu(x);
  const kept = a.dataSync();
  a.dispose();
  const others = [tf.neg(x), tf.neg(x), tf.neg(x)];
  assert.equal(kept[0], 3);
  assert.equal(kept[N - 1], 3);
  tf.dispose([x, ...others]);
});

test('storage shared by a reshape is recycled only when both tensors are gone', () => {
  const x = tf.fill([N], 5);
  const a = tf.relu(x);
  const r = a.reshape([2, N / 2]);
  a.dispose();
  const b = tf.neg(x);
  assert.equal(r.dataSync()[0], 5, 'the reshape still sees its own values');
  tf.dispose([x, r, b]);
});

test('allocFloats zeroes recycled storage when asked', () => {
  const x = tf.fill([N], 7);
  tf.relu(x).dispose();
  const z = allocFloats(N, true);
  assert.ok(z.every((v) => v === 0));
  x.dispose();
});

test('a full pool drops the sizes idle the longest, not the newest model', () => {
  drainPool();
  const A = POOL_MIN_ELEMENTS * 2,
    B = POOL_MIN_ELEMENTS * 3;
  setPoolLimit((2 * A + 2 * B) * 4);
  try {
    const xa = tf.fill([A], 1),
      xb = tf.fill([B], 1);
    tf.dispose([tf.relu(xa), tf.relu(xa)]);
    tf.dispose([tf.relu(xb), tf.relu(xb), tf.relu(xb)]);
    // 2 A + 3 B do not fit: A's arrays went, all three B stayed.
    assert.equal(poolIdleBytes(), 3 * B * 4);
    const hits = poolStats.hits;
    const again = [tf.relu(xb), tf.relu(xb), tf.relu(xb), xa, xb];
    assert.equal(poolStats.hits, hits + 3);
    tf.dispose(again);
  } finally {
    setPoolLimit(2 * 1024 ** 3);
    drainPool();
  }
});
