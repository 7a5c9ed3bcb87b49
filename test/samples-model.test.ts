import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wrapLayersModel } from '../src/artifacts/classifier-model.js';
import { resizeRgb } from '../src/core/images/resize.js';
import { tf } from '../engine/tf.js';
import { initBackend } from '../engine/backend.js';
import { flatImage } from './helpers/samples-fixture.js';

/** 4x6 input, flatten, one Dense per genre whose weights see only the left half of the image. */
function leftHalfModel(): tf.LayersModel {
  const [h, w] = [6, 4];
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [h, w, 3] }), tf.layers.dense({ units: 2, activation: 'sigmoid' })],
  });
  const kernel = new Float32Array(h * w * 3 * 2);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 3 + c;
        kernel[i * 2] = x < w / 2 ? 0.5 : 0; // genre A: left half only
        kernel[i * 2 + 1] = x < w / 2 ? 0 : -0.25; // genre B: right half only
      }
  model.layers[1]!.setWeights([tf.tensor2d(kernel, [h * w * 3, 2]), tf.zeros([2])]);
  return model;
}

test('scores, penultimate features and saliency of a saved-model wrapper match the hand-built model', async () => {
  await initBackend('cpu', true);
  const m = wrapLayersModel(leftHalfModel(), { name: 't', dir: '.', genres: ['A', 'B'] });
  assert.deepEqual(m.input, { width: 4, height: 6, range: 'unit' });
  const img = flatImage(4, 6, [255, 0, 51]);
  const [s] = await m.score([img]);
  // A sees 12 left pixels x (1 + 0 + 0.2) x 0.5 = 7.2; B sees 12 right pixels x 1.2 x -0.25 = -3.6.
  assert.ok(Math.abs(s!.A! - 1 / (1 + Math.exp(-7.2))) < 1e-5);
  assert.ok(Math.abs(s!.B! - 1 / (1 + Math.exp(3.6))) < 1e-5);
  const [f] = await m.features([img]);
  assert.equal(f!.length, 4 * 6 * 3, 'features are the input of the last Dense layer');
  assert.ok(Math.abs(f![2]! - 0.2) < 1e-6);
  const [salA] = await m.saliency([img], 'A');
  const [salB] = await m.saliency([img], 'B');
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 4; x++) {
      const left = x < 2;
      assert.equal(salA![y * 4 + x]! > 0, left, `A at ${x},${y}`);
      assert.equal(salB![y * 4 + x]! > 0, !left, `B at ${x},${y}`);
    }
  }
  await assert.rejects(m.saliency([img], 'Horror'), /unknown genre Horror; the model has A, B/);
  // Inputs of another size are resized to the model's, not rejected.
  assert.equal((await m.score([flatImage(16, 24, [0, 0, 0])])).length, 1);
  const r = await resizeRgb(flatImage(16, 24, [9, 9, 9]), 4, 6);
  assert.deepEqual([r.width, r.height, r.data[0]], [4, 6, 9]);
});
