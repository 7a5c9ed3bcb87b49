/**
 * Beyond the seed: the release year (hence decade) and the IMDB score predicted from the poster,
 * as ridge-regression heads on the trained classifier's penultimate features. The ridge strength
 * is picked on a hold-out of the training rows (every 5th), the head refitted on all of them and
 * scored on validation against the trivial baseline (the training mean; for decades the most
 * common training decade). The score head trains only on rows with a score and says how many.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { LayersModel } from '../engine/index.js';
import type { ClassifierData, Example } from './data.js';
import { featuresOfBytes } from './inference.js';

export interface RidgeHead {
  lambda: number;
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
}

export interface HeadReport {
  trainRows: number;
  validationRows: number;
  mae: number;
  rmse: number;
  baselineMae: number;
  baselineRmse: number;
  head: RidgeHead | null;
}

export interface Extras {
  year: HeadReport & { decadeAccuracy: number; baselineDecadeAccuracy: number };
  score: HeadReport;
}

const LAMBDAS = [0.1, 1, 10, 100, 1000, 10000];

function fitRidge(
  x: Float32Array[],
  y: number[],
  lambda: number,
  mean: number[],
  std: number[],
): { weights: number[]; bias: number } {
  const d = mean.length;
  const ym = y.reduce((a, b) => a + b, 0) / y.length;
  const xs = new Matrix(x.length, d);
  x.forEach((row, i) => {
    for (let j = 0; j < d; j++) xs.set(i, j, (row[j]! - mean[j]!) / std[j]!);
  });
  const a = xs.transpose().mmul(xs);
  for (let j = 0; j < d; j++) a.set(j, j, a.get(j, j) + lambda);
  const b = xs.transpose().mmul(Matrix.columnVector(y.map((v) => v - ym)));
  const w = new CholeskyDecomposition(a).solve(b);
  return { weights: w.to1DArray(), bias: ym };
}

function standardizer(x: Float32Array[]): { mean: number[]; std: number[] } {
  const d = x[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const r of x) for (let j = 0; j < d; j++) mean[j]! += r[j]! / x.length;
  for (const r of x) for (let j = 0; j < d; j++) std[j]! += (r[j]! - mean[j]!) ** 2 / x.length;
  // Dead ReLU units have zero variance: leave them at 0 instead of dividing by zero.
  return { mean, std: std.map((v) => Math.sqrt(v) || 1) };
}

export function predictRidge(h: Pick<RidgeHead, 'mean' | 'std' | 'weights' | 'bias'>, x: Float32Array): number {
  let s = h.bias;
  for (let j = 0; j < h.weights.length; j++) s += ((x[j]! - h.mean[j]!) / h.std[j]!) * h.weights[j]!;
  return s;
}

const errors = (pred: number[], y: number[]) => ({
  mae: pred.reduce((a, p, i) => a + Math.abs(p - y[i]!), 0) / y.length,
  rmse: Math.sqrt(pred.reduce((a, p, i) => a + (p - y[i]!) ** 2, 0) / y.length),
});

function fitHead(
  trX: Float32Array[],
  trY: number[],
  vaX: Float32Array[],
  vaY: number[],
): HeadReport & { preds: number[]; trainMean: number } {
  const trainMean = trY.length ? trY.reduce((a, b) => a + b, 0) / trY.length : NaN;
  const base = errors(
    vaY.map(() => trainMean),
    vaY,
  );
  if (trY.length < 10 || !vaY.length) {
    return {
      trainRows: trY.length,
      validationRows: vaY.length,
      mae: NaN,
      rmse: NaN,
      baselineMae: base.mae,
      baselineRmse: base.rmse,
      head: null,
      preds: [],
      trainMean,
    };
  }
  const { mean, std } = standardizer(trX);
  const fitIdx = trX.map((_, i) => i).filter((i) => i % 5 !== 4);
  const holdIdx = trX.map((_, i) => i).filter((i) => i % 5 === 4);
  let best = { lambda: LAMBDAS[0]!, err: Infinity };
  for (const lambda of LAMBDAS) {
    const h = fitRidge(
      fitIdx.map((i) => trX[i]!),
      fitIdx.map((i) => trY[i]!),
      lambda,
      mean,
      std,
    );
    const err = errors(
      holdIdx.map((i) => predictRidge({ ...h, mean, std }, trX[i]!)),
      holdIdx.map((i) => trY[i]!),
    ).mae;
    if (err < best.err) best = { lambda, err };
  }
  const h = fitRidge(trX, trY, best.lambda, mean, std);
  const head: RidgeHead = { lambda: best.lambda, mean, std, ...h };
  const preds = vaX.map((x) => predictRidge(head, x));
  const e = errors(preds, vaY);
  return {
    trainRows: trY.length,
    validationRows: vaY.length,
    ...e,
    baselineMae: base.mae,
    baselineRmse: base.rmse,
    head,
    preds,
    trainMean,
  };
}

export async function fitExtras(
  model: LayersModel,
  data: ClassifierData,
  input: { width: number; height: number },
): Promise<Extras> {
  const train = data.splits.train ?? [];
  const val = data.splits.validation ?? [];
  const feats = async (ex: Example[]) =>
    featuresOfBytes(
      model,
      ex.map((e) => e.image),
      input.width,
      input.height,
    );
  const trF = await feats(train);
  const vaF = await feats(val);
  const pick = (ex: Example[], f: Float32Array[], key: 'year' | 'score') => {
    const idx = ex.map((e, i) => (e.movie[key] !== null ? i : -1)).filter((i) => i >= 0);
    return { x: idx.map((i) => f[i]!), y: idx.map((i) => ex[i]!.movie[key]!) };
  };
  const ty = pick(train, trF, 'year');
  const vy = pick(val, vaF, 'year');
  const year = fitHead(ty.x, ty.y, vy.x, vy.y);
  const decades = new Map<number, number>();
  for (const y of ty.y) decades.set(Math.floor(y / 10), (decades.get(Math.floor(y / 10)) ?? 0) + 1);
  const modal = [...decades.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? NaN;
  const decadeAccuracy =
    vy.y.length && year.preds.length
      ? vy.y.filter((y, i) => Math.floor(year.preds[i]! / 10) === Math.floor(y / 10)).length / vy.y.length
      : NaN;
  const baselineDecadeAccuracy = vy.y.length
    ? vy.y.filter((y) => Math.floor(y / 10) === modal).length / vy.y.length
    : NaN;
  const ts = pick(train, trF, 'score');
  const vs = pick(val, vaF, 'score');
  const score = fitHead(ts.x, ts.y, vs.x, vs.y);
  const strip = <T extends { preds: number[]; trainMean: number }>({ preds: _p, trainMean: _m, ...rest }: T) => rest;
  return { year: { ...strip(year), decadeAccuracy, baselineDecadeAccuracy }, score: strip(score) };
}

export function formatExtras(e: Extras): string {
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  return [
    `year head: trained on ${e.year.trainRows} posters, validated on ${e.year.validationRows}: MAE ${f(e.year.mae)} years (mean baseline ${f(e.year.baselineMae)}), decade accuracy ${f(100 * e.year.decadeAccuracy, 1)}% (most-common-decade baseline ${f(100 * e.year.baselineDecadeAccuracy, 1)}%)`,
    `IMDB-score head: trained on the ${e.score.trainRows} training posters that have a score, validated on ${e.score.validationRows}: MAE ${f(e.score.mae)} (mean baseline ${f(e.score.baselineMae)}), RMSE ${f(e.score.rmse)} (baseline ${f(e.score.baselineRmse)})` +
      (e.score.head ? '' : ' — too few rows to fit'),
  ].join('\n');
}
