/**
 * eval.json / eval.csv, what `dcgan eval` writes for a run, and the CPU log it reads.
 * A run's quality curve: eval.json (everything, including the scale and the feature network's
 * name) and eval.csv (one row per checkpoint), rewritten whole after each checkpoint so a kill
 * never leaves a torn file. A curve grows across calls (a run that keeps training gets its new
 * checkpoints added), but only with the same feature network and settings: numbers from two
 * networks never share a curve.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs/atomic.js';
import { fieldError, readJsonFile } from './json-file.js';

export const EVAL_VERSION = 1;
export const EVAL_JSON = 'eval.json';
export const EVAL_CSV = 'eval.csv';

/** Generated (or held-out real, or noise) posters against the real reference. */
export interface Metrics {
  n: number;
  fid: number;
  kid: { mean: number; std: number };
  precision: number;
  recall: number;
}

/** Where a reader stands: the floor (real vs real) and the ceiling (noise). */
export interface Scale {
  reference: number;
  heldOut: number;
  realVsReal: Metrics;
  noise: Metrics;
}

export interface GenreShare {
  genre: string;
  /** Share of posters generated for this genre that the feature network puts in it. */
  generated: number | null;
  /** Share of real posters of this genre that it puts in it (null without a manifest). */
  real: number | null;
}

/** What must match for two rows to share a curve. */
export interface CurveKey {
  featureNet: string;
  real: string;
  realCount: number;
  count: number;
  seed: number;
  bn: string;
}

export interface CurveRow extends Metrics {
  checkpoint: string;
  iteration: number;
  /** CPU minutes of the training process when the checkpoint was written (from --cpu_log). */
  cpuMinutes: number | null;
  genres?: GenreShare[];
}

export interface Curve {
  version: number;
  key: CurveKey;
  featureDim: number;
  realSkipped: number;
  scale: Scale;
  rows: CurveRow[];
}

type Json = Record<string, unknown>;

/** The metrics at `at`; JSON has no NaN, so a value that could not be computed comes back from null as NaN. */
function checkMetrics(m: unknown, at: string, fail: (field: string) => never): void {
  const o = m as Json | null | undefined;
  if (!o || typeof o !== 'object') fail(at);
  const kid = o!.kid as Json | null | undefined;
  if (!kid || typeof kid !== 'object') fail(`${at}.kid`);
  const numberOrNull = (obj: Json, k: string, name: string): void => {
    if (obj[k] === null) obj[k] = NaN;
    else if (typeof obj[k] !== 'number') fail(`${at}.${name}`);
  };
  numberOrNull(kid!, 'mean', 'kid.mean');
  numberOrNull(kid!, 'std', 'kid.std');
  for (const k of ['fid', 'precision', 'recall']) numberOrNull(o!, k, k);
}

/** eval.json at `file`, or null when there is none; a damaged one is one line naming the file and field. */
export async function readCurveJson(file: string): Promise<Curve | null> {
  const o = (await readJsonFile(file)) as Curve | null;
  if (o === null) return null;
  const fail = (field: string): never => fieldError(file, field);
  if (typeof o !== 'object' || Array.isArray(o) || o.version !== EVAL_VERSION) fail('version');
  if (typeof o.key?.featureNet !== 'string') fail('key.featureNet');
  checkMetrics(o.scale?.realVsReal, 'scale.realVsReal', fail);
  checkMetrics(o.scale?.noise, 'scale.noise', fail);
  if (!Array.isArray(o.rows)) fail('rows');
  o.rows.forEach((r, i) => {
    if (typeof r?.iteration !== 'number') fail(`rows[${i}].iteration`);
    if (r.cpuMinutes !== null && typeof r.cpuMinutes !== 'number') fail(`rows[${i}].cpuMinutes`);
    checkMetrics(r, `rows[${i}]`, fail);
  });
  return o;
}

/** The rows of an earlier curve at `file` that may be kept, or a one-line refusal. */
export async function readCurve(file: string, key: CurveKey): Promise<CurveRow[]> {
  let old: Curve | null;
  try {
    old = await readCurveJson(file);
  } catch (err) {
    throw new UserError(`${(err as Error).message}; pass --fresh to start the curve over`);
  }
  if (!old) return [];
  if (old.key?.featureNet !== key.featureNet) {
    throw new UserError(
      `${file} was computed with feature network ${old.key?.featureNet ?? '(unknown)'}, not ${key.featureNet}; curves never mix networks: pass --output elsewhere or --fresh`,
    );
  }
  const diff = (Object.keys(key) as (keyof CurveKey)[]).filter((k) => old.key[k] !== key[k]);
  if (diff.length) {
    throw new UserError(
      `${file} was computed with other settings (${diff.map((k) => `${k}=${JSON.stringify(old.key[k])}`).join(', ')}); use the same ones, --output elsewhere or --fresh`,
    );
  }
  return old.rows;
}

const fmt = (v: number | null | undefined, d: number): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d);

export function curveCsv(c: Curve): string {
  const lines = ['checkpoint,iteration,cpu_minutes,n,kid_mean,kid_std,fid,precision,recall'];
  for (const r of c.rows) {
    lines.push(
      [
        r.checkpoint,
        r.iteration,
        fmt(r.cpuMinutes, 2),
        r.n,
        fmt(r.kid.mean, 6),
        fmt(r.kid.std, 6),
        fmt(r.fid, 4),
        fmt(r.precision, 4),
        fmt(r.recall, 4),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export async function writeCurve(dir: string, c: Curve): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await writeJsonAtomic(path.join(dir, EVAL_JSON), c);
  await writeFileAtomic(path.join(dir, EVAL_CSV), curveCsv(c));
}

/** wall_s,cpu_s,unix rows (cpu-sampler.sh's format): CPU seconds at a unix time, interpolated. */
export async function readCpuLog(file: string): Promise<{ unix: number; cpu: number }[]> {
  const rows = (await fs.readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  const out = rows.filter((r) => r.length >= 3 && r.every(Number.isFinite)).map((r) => ({ unix: r[2]!, cpu: r[1]! }));
  if (!out.length) throw new UserError(`--cpu_log: ${file} has no wall_s,cpu_s,unix rows`);
  return out;
}

/** CPU minutes at `unix`; null outside the log (more than one sampling gap past its ends). */
export function cpuMinutesAt(log: { unix: number; cpu: number }[], unix: number): number | null {
  const gap = log.length > 1 ? log[log.length - 1]!.unix - log[log.length - 2]!.unix : 60;
  if (unix < log[0]!.unix - gap || unix > log[log.length - 1]!.unix + gap) return null;
  let i = 0;
  while (i < log.length - 1 && log[i + 1]!.unix < unix) i++;
  const a = log[i]!;
  const b = log[Math.min(i + 1, log.length - 1)]!;
  const t = b.unix === a.unix ? 0 : Math.min(1, Math.max(0, (unix - a.unix) / (b.unix - a.unix)));
  return (a.cpu + t * (b.cpu - a.cpu)) / 60;
}
