/**
 * Fréchet distance between two Gaussians fitted to feature vectors (the "FID" of Heusel et al.):
 *
 *   d² = |μ₁ − μ₂|² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½)
 *
 * Σ₁Σ₂ is not symmetric, so its square root is taken the numerically sound way: with
 * A = Σ₁^½ (symmetric, from an eigendecomposition), (Σ₁Σ₂)^½ has the same trace as
 * (A Σ₂ A)^½, and A Σ₂ A is symmetric positive semi-definite, so its trace root is the sum of
 * the square roots of its eigenvalues, with round-off negatives clamped to 0. With few samples
 * in a few hundred dimensions both covariances are singular; like the reference implementations
 * we add eps·I to both (to both, so identical inputs still give exactly 0).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface GaussianStats {
  /** Number of feature vectors the statistics came from. */
  n: number;
  dim: number;
  mean: Float64Array;
  /** Unbiased (n − 1) covariance, dim x dim. */
  cov: Matrix;
}

/** Mean and unbiased covariance of n feature vectors of one length. */
export function featureStats(features: readonly ArrayLike<number>[]): GaussianStats {
  const n = features.length;
  if (n < 2) throw new Error(`need at least 2 feature vectors for a covariance, got ${n}`);
  const dim = features[0]!.length;
  const mean = new Float64Array(dim);
  for (const f of features) {
    if (f.length !== dim) throw new Error(`feature vectors differ in length (${f.length} vs ${dim})`);
    for (let j = 0; j < dim; j++) mean[j]! += f[j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  const centred = new Matrix(n, dim);
  features.forEach((f, i) => {
    for (let j = 0; j < dim; j++) centred.set(i, j, f[j]! - mean[j]!);
  });
  const cov = centred
    .transpose()
    .mmul(centred)
    .div(n - 1);
  return { n, dim, mean, cov };
}

/** Symmetric eigendecomposition with round-off asymmetry removed first. */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  // ml-matrix's arithmetic methods work in place: clone before touching the caller's matrix.
  const sym = m.clone().add(m.transpose()).div(2);
  const e = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  return { values: e.realEigenvalues, vectors: e.eigenvectorMatrix };
}

/** Square root of a symmetric positive semi-definite matrix (negative round-off clamped). */
export function sqrtPsd(m: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(m);
  const roots = values.map((v) => Math.sqrt(Math.max(v, 0)));
  return vectors.clone().mulRowVector(roots).mmul(vectors.transpose());
}

/** tr((Σ₁Σ₂)^½) given A = Σ₁^½. */
export function traceSqrtProduct(sqrtCov1: Matrix, cov2: Matrix): number {
  const m = sqrtCov1.mmul(cov2).mmul(sqrtCov1);
  return symmetricEigen(m).values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
}

export interface FrechetResult {
  /** The distance d² (what FID papers report). */
  fid: number;
  /** |μ₁ − μ₂|²: how far apart the centres are. */
  meanTerm: number;
  /** tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½): how different the spreads are. */
  covTerm: number;
}

/** A reference set (the real posters) prepared once, compared with many others. */
export interface FrechetReference {
  stats: GaussianStats;
  eps: number;
  cov: Matrix;
  sqrtCov: Matrix;
  trace: number;
}

/** Default ridge, as in the reference implementations. */
export const DEFAULT_EPS = 1e-6;

function ridge(cov: Matrix, eps: number): Matrix {
  if (eps === 0) return cov;
  const out = cov.clone();
  for (let i = 0; i < out.rows; i++) out.set(i, i, out.get(i, i) + eps);
  return out;
}

export function prepareReference(stats: GaussianStats, eps = DEFAULT_EPS): FrechetReference {
  const cov = ridge(stats.cov, eps);
  return { stats, eps, cov, sqrtCov: sqrtPsd(cov), trace: cov.trace() };
}

export function frechetToReference(ref: FrechetReference, other: GaussianStats): FrechetResult {
  if (other.dim !== ref.stats.dim) throw new Error(`feature dimensions differ (${ref.stats.dim} vs ${other.dim})`);
  let meanTerm = 0;
  for (let j = 0; j < other.dim; j++) meanTerm += (ref.stats.mean[j]! - other.mean[j]!) ** 2;
  const cov2 = ridge(other.cov, ref.eps);
  const covTerm = ref.trace + cov2.trace() - 2 * traceSqrtProduct(ref.sqrtCov, cov2);
  // tr terms can undershoot zero by round-off when the two sets are (nearly) identical.
  const fid = Math.max(0, meanTerm + covTerm);
  return { fid, meanTerm, covTerm };
}

export function frechetDistance(a: GaussianStats, b: GaussianStats, eps = DEFAULT_EPS): FrechetResult {
  return frechetToReference(prepareReference(a, eps), b);
}
