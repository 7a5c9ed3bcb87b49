/**
 * Multi-label metric math on plain arrays (no tensors), so it is exact and testable by hand.
 * Scores and labels are row-major n x k (n movies, k genres); a genre counts as predicted when
 * its score is >= its threshold.
 */
import type { GenreMetrics, MultiLabelReport } from '../src/artifacts/classifier-evaluation.js';

/**
 * The items sorted by score (stable), cut into runs of equal scores, each with its items' labels:
 * the rank-based metrics below treat a run of tied scores as one step.
 */
function tieRuns(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  descending: boolean,
): { score: number; labels: boolean[] }[] {
  const items = Array.from(scores, (score, i) => ({ score, label: !!labels[i] }));
  items.sort(descending ? (a, b) => b.score - a.score : (a, b) => a.score - b.score);
  const runs: { score: number; labels: boolean[] }[] = [];
  for (const { score, label } of items) {
    const run = runs[runs.length - 1];
    if (run && run.score === score) run.labels.push(label);
    else runs.push({ score, labels: [label] });
  }
  return runs;
}

/** ROC-AUC by the rank-sum (Mann-Whitney) form; tied scores share their average rank. NaN when a class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  let pos = 0;
  let rankSumPos = 0;
  let i = 0; // items before this run
  for (const run of tieRuns(scores, labels, false)) {
    const j = i + run.labels.length - 1;
    const avgRank = (i + j) / 2 + 1;
    for (const label of run.labels) {
      if (label) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Average precision as sum over distinct thresholds of (R_t - R_{t-1}) * P_t, the step form
 * (no interpolation); tied scores enter together. NaN when there are no positives.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) totalPos++;
  if (totalPos === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let prevRecall = 0;
  for (const run of tieRuns(scores, labels, true)) {
    for (const label of run.labels) {
      seen++;
      if (label) tp++;
    }
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
  }
  return ap;
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

/** Precision/recall/F1 with score >= threshold as positive; 0 (not NaN) where a ratio has no denominator. */
export function prfAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Prf {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i]! >= threshold;
    if (p && labels[i]) tp++;
    else if (p) fp++;
    else if (labels[i]) fn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, tp, fp, fn };
}

/**
 * The threshold that maximises F1 on these scores: each distinct score is a candidate (>= it is
 * positive). Ties in F1 go to the higher threshold (fewer positives). 0.5 when there is no positive.
 */
export function bestF1Threshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { threshold: number; f1: number } {
  const n = scores.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) totalPos++;
  if (totalPos === 0) return { threshold: 0.5, f1: 0 };
  let tp = 0;
  let predicted = 0;
  let best = { threshold: 0.5, f1: -1 };
  for (const run of tieRuns(scores, labels, true)) {
    for (const label of run.labels) {
      predicted++;
      if (label) tp++;
    }
    // F1 = 2TP / (predicted + actual positives)
    const f1 = (2 * tp) / (predicted + totalPos);
    if (f1 > best.f1) best = { threshold: run.score, f1 };
  }
  return best;
}

/** Column j of a row-major n x k matrix. */
export function column<T extends Float32Array | Uint8Array>(m: T, k: number, j: number): T {
  const n = m.length / k;
  const out = new (m.constructor as new (n: number) => T)(n);
  for (let i = 0; i < n; i++) out[i] = m[i * k + j]!;
  return out;
}

export function tuneThresholds(scores: Float32Array, labels: Uint8Array, k: number): number[] {
  return Array.from({ length: k }, (_, j) => bestF1Threshold(column(scores, k, j), column(labels, k, j)).threshold);
}

/** Fraction of (movie, genre) cells predicted wrongly. */
export function hammingLoss(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
  thresholds: readonly number[],
): number {
  let wrong = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= thresholds[i % k]! !== !!labels[i]) wrong++;
  return scores.length ? wrong / scores.length : NaN;
}

/** Fraction of movies whose highest-scoring genre is one of theirs (first index wins ties). */
export function top1HitRate(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const n = scores.length / k;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j]! > scores[i * k + best]!) best = j;
    if (labels[i * k + best]) hits++;
  }
  return n ? hits / n : NaN;
}

const mean = (xs: number[]): number => {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

export function evaluateMultiLabel(
  scores: Float32Array,
  labels: Uint8Array,
  genres: readonly string[],
  thresholds: readonly number[],
): MultiLabelReport {
  const k = genres.length;
  const perGenre: Record<string, GenreMetrics> = {};
  let tp = 0;
  let fp = 0;
  let fn = 0;
  genres.forEach((g, j) => {
    const s = column(scores, k, j);
    const l = column(labels, k, j);
    const threshold = thresholds[j];
    if (threshold === undefined)
      throw new Error(`metrics: no threshold for genre ${g} (${thresholds.length} thresholds for ${k} genres)`);
    const p = prfAt(s, l, threshold);
    tp += p.tp;
    fp += p.fp;
    fn += p.fn;
    perGenre[g] = {
      precision: p.precision,
      recall: p.recall,
      f1: p.f1,
      auc: rocAuc(s, l),
      ap: averagePrecision(s, l),
      threshold,
      positives: p.tp + p.fn,
    };
  });
  const vals = Object.values(perGenre);
  return {
    count: scores.length / k,
    perGenre,
    microAuc: rocAuc(scores, labels),
    macroAuc: mean(vals.map((v) => v.auc)),
    mAP: mean(vals.map((v) => v.ap)),
    microF1: tp ? (2 * tp) / (2 * tp + fp + fn) : 0,
    macroF1: mean(vals.map((v) => v.f1)),
    hammingLoss: hammingLoss(scores, labels, k, thresholds),
    top1: top1HitRate(scores, labels, k),
  };
}

/** Per-genre positive rate of a label matrix (the genre-prior baseline's scores). */
export function genrePriors(labels: Uint8Array, k: number): number[] {
  const n = labels.length / k;
  return Array.from({ length: k }, (_, j) => {
    let c = 0;
    for (let i = 0; i < n; i++) c += labels[i * k + j]!;
    return n ? c / n : 0;
  });
}

/**
 * Baselines on the same labels: all-negative (no genre ever predicted) and genre-prior (every
 * movie scored with each genre's training frequency; thresholds 0.5 as a prior never reaches it
 * except for a majority genre). Constant scores have AUC 0.5 by the tie rule; top-1 of the prior
 * is always the most frequent training genre.
 */
export function baselines(
  labels: Uint8Array,
  genres: readonly string[],
  trainPriors: readonly number[],
): { allNegative: MultiLabelReport; genrePrior: MultiLabelReport } {
  const k = genres.length;
  const zeros = new Float32Array(labels.length);
  const prior = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) prior[i] = trainPriors[i % k]!;
  const allNegative = evaluateMultiLabel(
    zeros,
    labels,
    genres,
    genres.map(() => 0.5),
  );
  allNegative.top1 = NaN; // it predicts no genre at all
  return {
    allNegative,
    genrePrior: evaluateMultiLabel(
      prior,
      labels,
      genres,
      genres.map(() => 0.5),
    ),
  };
}
