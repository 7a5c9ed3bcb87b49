/**
 * The classifier's metrics on disk: evaluation-<split>.json beside the model (`classifier
 * evaluate`: the model beside the all-negative and genre-prior baselines) and the validation
 * report that metadata.json carries. Read by the report through readEvaluation, so a renamed
 * field fails to compile or fails with one line naming the file and the field.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SplitName } from '../core/dataset/index.js';
import { writeOwnedFile } from '../core/fs/ownership.js';

export interface GenreMetrics {
  precision: number;
  recall: number;
  f1: number;
  auc: number;
  ap: number;
  threshold: number;
  positives: number;
}

export interface MultiLabelReport {
  count: number;
  perGenre: Record<string, GenreMetrics>;
  microAuc: number;
  macroAuc: number;
  mAP: number;
  microF1: number;
  macroF1: number;
  hammingLoss: number;
  top1: number;
}

export interface Evaluation {
  model: string;
  split: SplitName;
  count: number;
  fingerprint: string;
  /** The test-time augmentation the scores were computed with; absent in older files (= none). */
  tta?: 'none' | 'flip';
  model_metrics: MultiLabelReport;
  baselines: { allNegative: MultiLabelReport; genrePrior: MultiLabelReport };
  seedReportedTop1: number;
  /** The seed's "overall accuracy" computed as Keras did (classifier/evaluate.ts seedAccuracy); absent in older files. */
  seedAccuracy?: { value: number; count: number };
}

const EVALUATION_NAME = /^evaluation-(\w+)\.json$/;

export const evaluationPath = (modelDir: string, split: SplitName): string =>
  path.join(modelDir, `evaluation-${split}.json`);

export async function writeEvaluation(modelDir: string, e: Evaluation): Promise<string> {
  const file = evaluationPath(modelDir, e.split);
  await writeOwnedFile(file, JSON.stringify(e, null, 2) + '\n', '--model');
  return file;
}

/** Checks a multi-label report's fields; the error names the first one missing or malformed. */
export function checkReport(v: unknown, where: string): MultiLabelReport {
  const r = v as Partial<MultiLabelReport> | null;
  if (!r || typeof r !== 'object') throw new Error(`${where} is missing`);
  if (!r.perGenre || typeof r.perGenre !== 'object') throw new Error(`${where}.perGenre is missing or malformed`);
  // JSON writes a NaN (an AUC with no positives) as null.
  for (const k of ['microAuc', 'macroAuc', 'mAP', 'top1'] as const) {
    if (typeof r[k] !== 'number' && r[k] !== null) throw new Error(`${where}.${k} is missing or malformed`);
  }
  return r as MultiLabelReport;
}

export async function readEvaluation(file: string): Promise<Evaluation> {
  let e: Partial<Evaluation>;
  try {
    e = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Evaluation>;
  } catch (err) {
    throw new Error(`${file}: not readable JSON (${(err as Error).message.split('\n')[0]})`);
  }
  try {
    if (!e || typeof e !== 'object') throw new Error('model_metrics is missing');
    checkReport(e.model_metrics, 'model_metrics');
    checkReport(e.baselines?.genrePrior, 'baselines.genrePrior');
    checkReport(e.baselines?.allNegative, 'baselines.allNegative');
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return e as Evaluation;
}

/** The newest evaluation-<split>.json in a model directory, or null when there is none. */
export async function newestEvaluation(modelDir: string): Promise<Evaluation | null> {
  let names: string[];
  try {
    names = (await fs.readdir(modelDir)).filter((n) => EVALUATION_NAME.test(n));
  } catch {
    return null;
  }
  if (!names.length) return null;
  const times = await Promise.all(
    names.map(async (n) => [n, (await fs.stat(path.join(modelDir, n))).mtimeMs] as const),
  );
  times.sort((a, b) => b[1] - a[1]);
  return readEvaluation(path.join(modelDir, times[0]![0]));
}
