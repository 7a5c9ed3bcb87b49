/**
 * Reading what earlier commands left behind (grids, losses.csv, classify.json, fid.json, the
 * eval curve and kid.csv, the video, the models), each read on its own and allowed to be missing
 * or broken: the report shows what exists and says, per section, what to run for the rest.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { type LossPoint, lossesPath, parseLosses } from '../../artifacts/losses-csv.js';
import { newestEvaluation, type Evaluation } from '../../artifacts/classifier-evaluation.js';
import { METADATA_FILE, readMetadata, type ClassifierMetadata } from '../../artifacts/classifier-model.js';
import { readClassifyJson, type ClassifyJson } from '../../artifacts/classify-json.js';
import { readFidJson, type FidJson } from '../../artifacts/fid-json.js';
import { EVAL_JSON, readCurveJson, type Curve } from '../../artifacts/eval-curve.js';
import { readKidCsv, type KidPoint } from '../../artifacts/kid-log.js';
import { scanSamples, type GridSource } from '../scoring/scan.js';

/** At most n points, evenly spaced, first and last kept (a long run's CSV has one row per step). */
export function thin<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.round((i * (items.length - 1)) / (n - 1))]!);
  return out;
}

export interface ReportInputs {
  samplesDir: string;
  grids: GridSource[];
  losses: LossPoint[];
  scores: ClassifyJson | null;
  fid: FidJson | null;
  video: string | null;
  quality: QualityInputs;
  problems: string[];
}

/** What `dcgan eval` (eval.json) and `dcgan train --eval_every` (kid.csv) left for the sample-quality section. */
export interface QualityInputs {
  curve: Curve | null;
  curveFile: string;
  kid: KidPoint[];
  /** Why eval.json or kid.csv could not be used (also in ReportInputs.problems). */
  problems: string[];
}

async function readQuality(samplesDir: string, evalDir: string | undefined): Promise<QualityInputs> {
  const curveFile = path.join(evalDir ?? samplesDir, EVAL_JSON);
  const q: QualityInputs = { curve: null, curveFile, kid: [], problems: [] };
  const note = (err: Error): null => (q.problems.push(err.message), null);
  const isRun = existsSync(samplesDir) && statSync(samplesDir).isDirectory();
  if (evalDir || isRun) q.curve = await readCurveJson(curveFile).catch(note);
  if (evalDir && !q.curve && !q.problems.length)
    q.problems.push(`--eval: no ${EVAL_JSON} in ${evalDir}; dcgan eval writes it there with --output ${evalDir}`);
  if (isRun) q.kid = (await readKidCsv(samplesDir).catch(note)) ?? [];
  return q;
}

/** `evalDir`: where eval.json is when `dcgan eval --output` put it outside the samples folder. */
export async function readSamplesDir(samplesDir: string, video?: string, evalDir?: string): Promise<ReportInputs> {
  const problems: string[] = [];
  const quality = await readQuality(samplesDir, evalDir);
  problems.push(...quality.problems);
  const inputs: ReportInputs = {
    samplesDir,
    grids: [],
    losses: [],
    scores: null,
    fid: null,
    video: null,
    quality,
    problems,
  };
  if (existsSync(samplesDir) && statSync(samplesDir).isDirectory()) {
    const scan = await scanSamples([samplesDir]);
    inputs.grids = scan.grids;
    const lossFile = lossesPath(samplesDir);
    if (existsSync(lossFile)) {
      try {
        inputs.losses = parseLosses(await fs.readFile(lossFile, 'utf8'), lossFile);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    // Each may be missing (not run yet) or broken: the report says so and shows the rest.
    inputs.scores = await readClassifyJson(samplesDir).catch((err: Error) => (problems.push(err.message), null));
    inputs.fid = await readFidJson(samplesDir).catch((err: Error) => (problems.push(err.message), null));
  }
  if (video) {
    inputs.video = existsSync(video) ? video : null;
    if (!inputs.video) problems.push(`${video}: no such video`);
  } else {
    // `dcgan render` writes train.mp4; look beside the grids first, then in the working directory.
    // Hidden names are a render still being written (temp name, renamed when done).
    const candidates: string[] = [path.join(samplesDir, 'train.mp4')];
    if (existsSync(samplesDir)) {
      for (const n of (await fs.readdir(samplesDir)).sort())
        if (!n.startsWith('.') && n.toLowerCase().endsWith('.mp4')) candidates.push(path.join(samplesDir, n));
    }
    candidates.push('train.mp4');
    inputs.video = candidates.find((c) => existsSync(c) && statSync(c).size > 0) ?? null;
  }
  return inputs;
}

export interface ModelInfo {
  dir: string;
  name: string;
  metadata: ClassifierMetadata | null;
  evaluation: Evaluation | null;
  /** Why metadata.json or the evaluation JSON could not be used. */
  problems: string[];
}

/** metadata.json and the newest evaluation-<split>.json; either may be missing or unreadable (then noted). */
export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const problems: string[] = [];
  const note = (err: Error): null => (problems.push(err.message), null);
  const metadata = existsSync(path.join(dir, METADATA_FILE)) ? await readMetadata(dir).catch(note) : null;
  const evaluation = await newestEvaluation(dir).catch(note);
  return { dir, name: path.basename(dir), metadata, evaluation, problems };
}
