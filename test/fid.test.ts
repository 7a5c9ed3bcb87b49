import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix } from 'ml-matrix';
import { featureStats, frechetDistance, sqrtPsd, type GaussianStats } from '../src/features/fid/frechet.js';
import { createRng } from '../src/core/random.js';
import { SHARED_POSTERS, sharedDataMissing } from './helpers/shared-data.js';

function gaussian(mean: number[], cov: number[][]): GaussianStats {
  return { n: 1000, dim: mean.length, mean: Float64Array.from(mean), cov: new Matrix(cov) };
}

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

test('1-D Gaussians: d² = (m1 − m2)² + (s1 − s2)²', () => {
  const r = frechetDistance(gaussian([1], [[4]]), gaussian([4], [[9]]), 0);
  close(r.meanTerm, 9);
  close(r.covTerm, 1); // (2 − 3)²
  close(r.fid, 10);
});

test('diagonal Gaussians: per-axis sum of (m1 − m2)² + (s1 − s2)²', () => {
  const r = frechetDistance(
    gaussian(
      [0, 1, 2],
      [
        [1, 0, 0],
        [0, 4, 0],
        [0, 0, 0.25],
      ],
    ),
    gaussian(
      [1, 1, 0],
      [
        [9, 0, 0],
        [0, 4, 0],
        [0, 0, 1],
      ],
    ),
    0,
  );
  // means: 1 + 0 + 4; spreads: (1−3)² + (2−2)² + (0.5−1)²
  close(r.fid, 5 + 4 + 0 + 0.25);
});

test('non-commuting 2x2 covariances match the closed form tr√(Σ1Σ2) = √(tr Σ1Σ2 + 2√(det Σ1 det Σ2))', () => {
  // Σ1Σ2 = [[2,3],[1,6]]: trace 8, det Σ1 = det Σ2 = 3, so tr√ = √14.
  const r = frechetDistance(
    gaussian(
      [0, 0],
      [
        [2, 1],
        [1, 2],
      ],
    ),
    gaussian(
      [0, 0],
      [
        [1, 0],
        [0, 3],
      ],
    ),
    0,
  );
  close(r.fid, 8 - 2 * Math.sqrt(14));
  // The distance is symmetric although Σ1Σ2 ≠ Σ2Σ1.
  const s = frechetDistance(
    gaussian(
      [0, 0],
      [
        [1, 0],
        [0, 3],
      ],
    ),
    gaussian(
      [0, 0],
      [
        [2, 1],
        [1, 2],
      ],
    ),
    0,
  );
  close(s.fid, r.fid);
});

test('identical inputs give 0 even with singular covariances (few samples, many dims) and eps', () => {
  const rng = createRng(1, 'fid-test');
  const feats = Array.from({ length: 10 }, () => Array.from({ length: 40 }, () => rng.normal()));
  const st = featureStats(feats);
  close(frechetDistance(st, st).fid, 0, 1e-6);
});

test('featureStats: mean and unbiased covariance by hand', () => {
  const st = featureStats([
    [1, 2],
    [3, 6],
    [5, 4],
  ]);
  assert.deepEqual([...st.mean], [3, 4]);
  assert.deepEqual(st.cov.to2DArray(), [
    [4, 2],
    [2, 4],
  ]);
  assert.throws(() => featureStats([[1, 2]]), /at least 2/);
});

test('sqrtPsd squares back and clamps round-off negatives', () => {
  const a = new Matrix([
    [5, 2],
    [2, 3],
  ]);
  const r = sqrtPsd(a);
  const back = r.mmul(r);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) close(back.get(i, j), a.get(i, j), 1e-9);
  const rank1 = new Matrix([
    [1, 1],
    [1, 1],
  ]); // eigenvalues 2 and 0 (may come out as −1e-17)
  assert.ok(sqrtPsd(rank1).to1DArray().every(Number.isFinite));
});

test('sampled Gaussians: same law is near 0, a mean shift of 3 on one axis is near 9', () => {
  const rng = createRng(2, 'fid-test');
  const draw = (shift: number) =>
    Array.from({ length: 4000 }, () => [rng.normal() + shift, rng.normal(), rng.normal()]);
  const a = featureStats(draw(0));
  const b = featureStats(draw(0));
  const c = featureStats(draw(3));
  assert.ok(frechetDistance(a, b).fid < 0.05, `same law: ${frechetDistance(a, b).fid}`);
  close(frechetDistance(a, c).fid, 9, 0.5);
});

test(
  'poster-FID pipeline on real posters: two disjoint real halves are far closer than real vs noise',
  { skip: sharedDataMissing },
  async () => {
    const { tf } = await import('../engine/tf.js');
    const { initBackend } = await import('../engine/backend.js');
    const { wrapLayersModel } = await import('../src/artifacts/classifier-model.js');
    const { computePosterFid } = await import('../src/features/fid/poster-fid.js');
    const { listRealPosters, pickSeeded } = await import('../src/features/scoring/real.js');
    await initBackend('cpu', true);
    // A fixed-seed random convnet: no trained classifier is needed to check that the pipeline
    // (decode, resize, features, statistics, distance) separates posters from noise.
    const init = (seed: number) => tf.initializers.heNormal({ seed });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [67, 46, 3],
          filters: 8,
          kernelSize: 3,
          strides: 2,
          activation: 'relu',
          kernelInitializer: init(1),
        }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init(2) }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 7, activation: 'sigmoid', kernelInitializer: init(3) }),
      ],
    });
    const m = wrapLayersModel(model, { name: 'random', dir: '.', genres: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    const real = pickSeeded(await listRealPosters(SHARED_POSTERS), 160, 1, 'fid-test');
    const r = await computePosterFid({
      features: (x) => m.features(x),
      realFiles: real,
      grids: [],
      noiseCount: 80,
      noiseSize: { width: 46, height: 67 },
      seed: 1,
    });
    assert.equal(r.featureDim, 16);
    assert.equal(r.real.reference + r.real.heldOut, 160);
    assert.ok(
      r.validation.realVsNoise !== null && r.validation.realVsNoise > 10 * r.validation.realVsReal,
      JSON.stringify(r.validation),
    );
  },
);
