/**
 * What `classify samples/` prints and writes: a table per grid (cell, top genres with %), the
 * genre mix over training, and the same data as JSON (for the report) and CSV (for a sheet).
 */
import path from 'node:path';
import { writeOwnedFile } from '../../core/fs/ownership.js';
import { csvCell } from '../../core/escape.js';
import { type GridScores, type SamplesScoring, writeClassifyJson } from '../../artifacts/classify-json.js';
import { displayName, topGenres } from './score.js';

const pct = (v: number): string => `${Math.round(v * 100)}%`;

export function formatGridTable(g: GridScores, top = 3): string {
  const head = `${displayName(g.file)}  iteration ${g.iteration ?? '?'}${g.epoch !== null ? `, epoch ${g.epoch}` : ''}  (${g.geometry.rows}x${g.geometry.cols} posters of ${g.geometry.cellWidth}x${g.geometry.cellHeight}, geometry from ${g.geometryFrom})`;
  const lines = g.cells.map((c) => {
    const cell = `r${c.row + 1}c${c.col + 1}`.padEnd(8);
    return `  ${cell}${topGenres(c.scores, top)
      .map(([name, v]) => `${name}: ${pct(v)}`.padEnd(18))
      .join('')}`.trimEnd();
  });
  return [head, ...lines].join('\n');
}

export function formatSingles(s: SamplesScoring, top = 3): string {
  return s.singles
    .map(
      (x) =>
        `${displayName(x.file)}  [${topGenres(x.scores, top)
          .map(([n, v]) => `'${n}: ${pct(v)}'`)
          .join(', ')}]`,
    )
    .join('\n');
}

/** Rows = grids in training order, columns = genres, cells = mean score; then what moved most. */
export function formatTrend(s: SamplesScoring): string {
  if (s.grids.length === 0) return '';
  const genres = s.genres;
  const w = Math.max(6, ...genres.map((g) => g.length + 1));
  const out = ['genre mix of the generated posters over training (mean score per genre):'];
  out.push('  ' + 'iteration'.padEnd(11) + genres.map((g) => g.padStart(w)).join(''));
  for (const g of s.grids) {
    out.push(
      '  ' +
        String(g.iteration ?? '?').padEnd(11) +
        genres.map((n) => pct(g.mix.meanScore[n] ?? 0).padStart(w)).join(''),
    );
  }
  if (s.grids.length > 1) {
    const first = s.grids[0]!;
    const last = s.grids[s.grids.length - 1]!;
    const moves = genres
      .map((n) => ({ n, d: (last.mix.meanScore[n] ?? 0) - (first.mix.meanScore[n] ?? 0) }))
      .sort((a, b) => Math.abs(b.d) - Math.abs(a.d))
      .slice(0, 3)
      .map(({ n, d }) => `${n} ${d >= 0 ? '+' : '−'}${Math.abs(Math.round(d * 100))} pts`);
    const topOf = (g: GridScores) => topGenres(g.mix.topShare, 1)[0];
    const t0 = topOf(first);
    const t1 = topOf(last);
    out.push(
      `  from iteration ${first.iteration ?? '?'} to ${last.iteration ?? '?'}: ${moves.join(', ')}` +
        (t0 && t1 ? `; most common top genre ${t0[0]} (${pct(t0[1])}) → ${t1[0]} (${pct(t1[1])})` : ''),
    );
  }
  return out.join('\n');
}

/** One row per scored poster: grid cells and single images alike. */
export function scoresCsv(s: SamplesScoring): string {
  const rows: (string | number | null)[][] = [['file', 'iteration', 'cell', 'row', 'col', 'top_genre', ...s.genres]];
  const r4 = (v: number | undefined) => (v === undefined ? null : Math.round(v * 1e4) / 1e4);
  for (const g of s.grids) {
    for (const c of g.cells) {
      rows.push([
        g.file,
        g.iteration,
        c.cell,
        c.row,
        c.col,
        topGenres(c.scores, 1)[0]?.[0] ?? null,
        ...s.genres.map((n) => r4(c.scores[n])),
      ]);
    }
  }
  for (const x of s.singles)
    rows.push([
      x.file,
      null,
      null,
      null,
      null,
      topGenres(x.scores, 1)[0]?.[0] ?? null,
      ...s.genres.map((n) => r4(x.scores[n])),
    ]);
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export const SCORES_CSV = 'classify.csv';

/** Writes classify.json (src/artifacts/classify-json.ts) and classify.csv into dir; returns their paths. */
export async function writeScores(
  s: SamplesScoring,
  dir: string,
  model: string | null,
): Promise<{ json: string; csv: string }> {
  const json = await writeClassifyJson(dir, s, model);
  const csv = path.join(dir, SCORES_CSV);
  await writeOwnedFile(csv, scoresCsv(s), 'classify');
  return { json, csv };
}
