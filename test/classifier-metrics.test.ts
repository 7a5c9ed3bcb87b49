import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averagePrecision,
  baselines,
  bestF1Threshold,
  evaluateMultiLabel,
  genrePriors,
  hammingLoss,
  prfAt,
  rocAuc,
  top1HitRate,
  tuneThresholds,
} from '../classifier/metrics.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('ROC-AUC: perfect, reversed, and by hand with a tie', () => {
  close(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75); // sklearn's classic example
  close(rocAuc([1, 2, 3], [0, 1, 1]), 1);
  close(rocAuc([3, 2, 1], [0, 1, 1]), 0);
  // pos {0.5, 0.9}, neg {0.5, 0.2}: pairs (0.5 vs 0.5)=1/2, (0.5 vs 0.2)=1, (0.9 vs .)=1+1 -> 3.5/4
  close(rocAuc([0.5, 0.9, 0.5, 0.2], [1, 1, 0, 0]), 0.875);
  // constant scores: every pair tied
  close(rocAuc([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0]), 0.5);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
});

test('average precision: step form, ties enter together', () => {
  // ranked 0.8(+) 0.4(-) 0.35(+) 0.1(-): 0.5*1 + 0.5*(2/3)
  close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.5 + 1 / 3);
  // all tied: one threshold, precision = prevalence
  close(averagePrecision([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 0]), 0.25);
  // tie at the top between a positive and a negative, then a positive: 0.5*(1/2) + 0.5*(2/3)
  close(averagePrecision([0.9, 0.9, 0.1], [1, 0, 1]), 0.25 + 1 / 3);
  assert.ok(Number.isNaN(averagePrecision([0.2], [0])));
});

test('precision, recall and F1 at a threshold (>= counts as positive)', () => {
  const p = prfAt([0.9, 0.6, 0.6, 0.2, 0.1], [1, 0, 1, 1, 0], 0.6);
  assert.deepEqual([p.tp, p.fp, p.fn], [2, 1, 1]);
  close(p.precision, 2 / 3);
  close(p.recall, 2 / 3);
  close(p.f1, 2 / 3);
  const none = prfAt([0.1, 0.2], [1, 0], 0.5);
  assert.deepEqual([none.precision, none.recall, none.f1], [0, 0, 0]);
});

test('best F1 threshold picks the score that maximises F1', () => {
  // thresholds: 0.9 -> F1 2/(1+2)=.667; 0.6 -> tp2 pred3 -> 4/5=.8; 0.2 -> tp2 pred4 -> .667
  const r = bestF1Threshold(
    [0.9, 0.6, 0.2, 0.1],
    [1, 1, 0, 0].map((v, i) => (i === 0 || i === 1 ? 1 : v)),
  );
  close(r.threshold, 0.6);
  close(r.f1, 1);
  const s = [0.9, 0.8, 0.6, 0.3];
  const l = [1, 0, 1, 0];
  const b = bestF1Threshold(s, l);
  close(b.threshold, 0.6); // tp 2 of 3 predicted: F1 0.8 beats 0.9 alone (0.667)
  close(b.f1, 0.8);
  close(prfAt(s, l, b.threshold).f1, b.f1);
  assert.equal(bestF1Threshold([0.2, 0.4], [0, 0]).threshold, 0.5);
  // row-major 3 x 2: genre 0 best at 0.7, genre 1 at 0.2
  const t = tuneThresholds(Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.8, 0.05]), Uint8Array.from([1, 1, 0, 0, 1, 0]), 2);
  close(t[0]!, Math.fround(0.7));
  close(t[1]!, Math.fround(0.2));
});

test('hamming loss and top-1 hit rate by hand', () => {
  const scores = [0.9, 0.2, 0.6, 0.4, 0.1, 0.7];
  const labels = [1, 0, 0, 1, 1, 1];
  // thresholds .5/.5: predictions [1,0],[1,0],[0,1] vs [1,0],[0,1],[1,1]: wrong 0+2+1 = 3 of 6
  close(hammingLoss(scores, labels, 2, [0.5, 0.5]), 0.5);
  // top-1: row0 g0 (hit), row1 g0 (miss), row2 g1 (hit)
  close(top1HitRate(scores, labels, 2), 2 / 3);
});

test('multi-label report and the baselines', () => {
  const genres = ['A', 'B'];
  const scores = Float32Array.from([0.9, 0.1, 0.8, 0.3, 0.2, 0.7, 0.4, 0.6]);
  const labels = Uint8Array.from([1, 0, 1, 0, 0, 1, 0, 1]);
  const r = evaluateMultiLabel(scores, labels, genres, [0.5, 0.5]);
  close(r.perGenre.A!.auc, 1);
  close(r.perGenre.B!.auc, 1);
  close(r.macroAuc, 1);
  close(r.mAP, 1);
  close(r.hammingLoss, 0);
  close(r.top1, 1);
  assert.equal(r.count, 4);
  const priors = genrePriors(labels, 2);
  assert.deepEqual(priors, [0.5, 0.5]);
  const b = baselines(labels, genres, [0.6, 0.3]);
  close(b.allNegative.macroAuc, 0.5);
  close(b.allNegative.hammingLoss, 0.5);
  close(b.allNegative.mAP, 0.5);
  // pooled: A cells at 0.6 (2+, 2-), B cells at 0.3 (2+, 2-): 16 pairs = 2 ties + 4 wins + 0 + 2 ties -> 8/16
  close(b.genrePrior.microAuc, 0.5);
  close(b.genrePrior.top1, 0.5); // always A
});
