/**
 * losses.csv, one row per DCGAN iteration, appended while `dcgan train` runs and read by the
 * report. Columns are found by their exact names, so columns may be added but never renamed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/fs/atomic.js';

export const LOSSES_FILE = 'losses.csv';
export const LOSSES_HEADER = 'iteration,epoch,d_loss,g_loss,seconds';

export const lossesPath = (dir: string): string => path.join(dir, LOSSES_FILE);

export interface LossPoint {
  iteration: number;
  d: number;
  g: number;
}

/** A new losses.csv holding only the header. */
export async function startLosses(file: string): Promise<void> {
  await fs.writeFile(file, LOSSES_HEADER + '\n');
}

/** Appends rows with one write call each time, so a kill tears at most the last row. */
export class LossLog {
  private pending: string[] = [];
  constructor(readonly file: string) {}

  add(iteration: number, epoch: number, d: number, g: number, seconds: number): void {
    this.pending.push(`${iteration},${epoch},${d.toPrecision(6)},${g.toPrecision(6)},${seconds.toFixed(3)}`);
  }

  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    await fs.appendFile(this.file, text);
  }
}

/**
 * losses.csv after a resume from `iteration`: the header, then exactly one whole row for each
 * iteration up to it; rows written after the checkpoint, torn last lines and repeats are dropped.
 */
export async function trimLosses(file: string, iteration: number): Promise<number> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    // No file yet: start one.
  }
  const seen = new Set<number>();
  const rows: string[] = [];
  const lines = text.split('\n');
  // The last element is '' when the file ends in a newline; anything else there is a torn row.
  lines.pop();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const it = Number(f[0]);
    if (
      f.length !== 5 ||
      !Number.isInteger(it) ||
      it > iteration ||
      seen.has(it) ||
      f.some((x) => x === '' || Number.isNaN(Number(x)))
    )
      continue;
    seen.add(it);
    rows.push(line);
  }
  await writeFileAtomic(file, [LOSSES_HEADER, ...rows].join('\n') + '\n');
  return rows.length;
}

/**
 * The (iteration, D loss, G loss) rows of a losses.csv's text. A header without one of those
 * columns fails with one line naming the file and the column; rows that are not whole numbers
 * (a run still writing its last row) are skipped.
 */
export function parseLosses(text: string, file: string): LossPoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = (lines[0] ?? '').split(',').map((h) => h.trim());
  const column = (name: string): number => {
    const i = head.indexOf(name);
    if (i < 0)
      throw new Error(`${file}: no "${name}" column (header '${lines[0] ?? ''}', expected '${LOSSES_HEADER}')`);
    return i;
  };
  const [it, d, g] = [column('iteration'), column('d_loss'), column('g_loss')];
  const out: LossPoint[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const p = { iteration: Number(cells[it]), d: Number(cells[d]), g: Number(cells[g]) };
    if (Number.isFinite(p.iteration) && Number.isFinite(p.d) && Number.isFinite(p.g)) out.push(p);
  }
  return out;
}
