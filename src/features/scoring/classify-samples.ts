/**
 * `classify samples/` for directories that hold sample grids: the classify command hands in its
 * scorer and this does the rest (find, split, score, print a table per grid and the genre mix
 * over training, write classify.json + classify.csv beside the grids). Kept out of the command
 * so the classifier's command file needs only a two-line hook.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { writeOwnedFile } from '../../core/fs/ownership.js';
import { createProgress } from '../../core/progress.js';
import { formatGridTable, formatSingles, formatTrend, writeScores } from './format.js';
import { formatSkipped, SKIPPED_LIST, skippedListText } from '../../core/skipped.js';
import { parseGridSpec, scanSamples, IMAGE_EXTENSIONS } from './scan.js';
import { sidecarPathFor } from '../../artifacts/grid-sidecar.js';
import type { SamplesScoring } from '../../artifacts/classify-json.js';
import { scoreSamples, type ScoreFn } from './score.js';

/**
 * True when any input is a directory with at least one grid sidecar (or `--grid` was given and a
 * directory is among the inputs): such runs go through classifySamples.
 */
export async function looksLikeSamples(inputs: readonly string[], grid?: string): Promise<boolean> {
  for (const input of inputs) {
    if (!existsSync(input) || !statSync(input).isDirectory()) continue;
    if (grid) return true;
    for (const name of await fs.readdir(input)) {
      if (!IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase())) continue;
      if (existsSync(sidecarPathFor(path.join(input, name)))) return true;
    }
  }
  return false;
}

export interface ClassifySamplesOptions {
  score: ScoreFn;
  /** The model's directory or name, recorded in classify.json. */
  model: string;
  /** `--grid RxC` for grids with no sidecar. */
  grid?: string;
  /** classify --json: true prints the JSON on stdout instead of the tables; a path also writes it there. */
  json?: boolean | string;
  /** classify --csv: true prints the CSV on stdout instead of the tables; a path also writes it there. */
  csv?: boolean | string;
  /** Where classify.json/csv go (default: the first directory given). */
  outDir?: string;
  top?: number;
  write?: (text: string) => void;
  warn?: (text: string) => void;
}

export async function classifySamples(inputs: readonly string[], o: ClassifySamplesOptions): Promise<SamplesScoring> {
  const out = o.write ?? ((t: string) => void process.stdout.write(t));
  const warn = o.warn ?? ((t: string) => void process.stderr.write(t));
  const scan = await scanSamples(inputs, { grid: o.grid ? parseGridSpec(o.grid) : undefined });
  const total = scan.grids.length + scan.singles.length;
  const progress = createProgress('classify', total);
  const result = await scoreSamples(scan, o.score, { onProgress: (d) => progress.update(d) });
  progress.stop();
  for (const n of result.notes) warn(`note: ${n}\n`);
  const dir =
    o.outDir ??
    inputs.find((i) => existsSync(i) && statSync(i).isDirectory()) ??
    path.dirname(result.grids[0]?.file ?? inputs[0] ?? '.');
  const files = await writeScores(result, dir, o.model);
  if (result.skipped.length) {
    // The whole list goes beside classify.json (which also names them); stderr gets the first ten.
    const list = path.join(dir, SKIPPED_LIST);
    await writeOwnedFile(list, skippedListText(result.skipped), 'classify');
    for (const l of formatSkipped(result.skipped, 'classify', list)) warn(l + '\n');
  }
  const extra: string[] = [];
  if (typeof o.json === 'string' && o.json && path.resolve(o.json) !== path.resolve(files.json)) {
    await fs.mkdir(path.dirname(path.resolve(o.json)), { recursive: true });
    await writeOwnedFile(o.json, await fs.readFile(files.json), '--json');
    extra.push(o.json);
  }
  if (typeof o.csv === 'string' && o.csv && path.resolve(o.csv) !== path.resolve(files.csv)) {
    await fs.mkdir(path.dirname(path.resolve(o.csv)), { recursive: true });
    await writeOwnedFile(o.csv, await fs.readFile(files.csv), '--csv');
    extra.push(o.csv);
  }
  if (o.json === true) {
    out(JSON.stringify({ model: o.model, ...result }, null, 2) + '\n');
  } else if (o.csv === true) {
    out(await fs.readFile(files.csv, 'utf8'));
  } else {
    for (const g of result.grids) out(formatGridTable(g, o.top ?? 3) + '\n\n');
    if (result.singles.length) out(formatSingles(result, o.top ?? 3) + '\n\n');
    const trend = formatTrend(result);
    if (trend) out(trend + '\n');
    if (total === 0) out(`no images found in ${inputs.join(', ')}\n`);
  }
  warn(
    `scored ${result.grids.reduce((n, g) => n + g.cells.length, 0)} posters in ${result.grids.length} grid(s) and ${result.singles.length} single image(s)` +
      `${result.skipped.length ? `, skipped ${result.skipped.length} file(s)` : ''}; wrote ${[files.json, files.csv, ...extra].join(', ')}\n`,
  );
  return result;
}
