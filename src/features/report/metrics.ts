/**
 * The classifier's metrics as tables, read from whatever JSON `classifier train/evaluate` wrote:
 * per-genre blocks (genre → {precision, recall, ...}, metric → {genre: value}, or a list of
 * {genre, ...} rows) become one table each; scalar metrics become tiles. Read by shape, not by
 * exact key names, so a renamed field degrades to a tile instead of breaking the report.
 */
import { escapeHtml } from './svg.js';

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: Json): v is number => typeof v === 'number' && Number.isFinite(v);

export interface MetricTable {
  title: string;
  columns: string[];
  rows: { label: string; values: (number | null)[] }[];
}

export interface MetricsView {
  tables: MetricTable[];
  scalars: { name: string; value: number }[];
}

function numericRecord(v: Json): Record<string, number> | null {
  if (!isObj(v)) return null;
  const e = Object.entries(v).filter(([, x]) => isNum(x)) as [string, number][];
  return e.length > 0 && e.length >= Object.keys(v).length / 2 ? Object.fromEntries(e) : null;
}

function tableFrom(title: string, rows: [string, Record<string, number>][]): MetricTable {
  const columns = [...new Set(rows.flatMap(([, r]) => Object.keys(r)))];
  return { title, columns, rows: rows.map(([label, r]) => ({ label, values: columns.map((c) => (isNum(r[c]) ? r[c]! : null)) })) };
}

export function collectMetrics(root: Json, genres: readonly string[], maxDepth = 5): MetricsView {
  const view: MetricsView = { tables: [], scalars: [] };
  const known = new Set(genres);
  const genreLike = (keys: string[]) => keys.filter((k) => known.has(k)).length >= Math.max(2, Math.ceil(keys.length / 2));
  const walk = (v: Json, pathParts: string[], depth: number): void => {
    const title = pathParts.join(' › ') || 'metrics';
    if (isNum(v)) {
      if (pathParts.length) view.scalars.push({ name: pathParts.join('.'), value: v });
      return;
    }
    if (Array.isArray(v)) {
      const rows = v.filter(isObj).map((r) => [String(r.genre ?? r.name ?? r.label ?? ''), numericRecord(r)] as const);
      if (rows.length >= 2 && rows.every(([l, r]) => l && r)) view.tables.push(tableFrom(title, rows as [string, Record<string, number>][]));
      return;
    }
    if (!isObj(v) || depth > maxDepth) return;
    const keys = Object.keys(v);
    // genre → {metric: value}
    if (genreLike(keys) && keys.every((k) => numericRecord(v[k]) || isNum(v[k]))) {
      const rows = keys.filter((k) => numericRecord(v[k])).map((k) => [k, numericRecord(v[k])!] as [string, Record<string, number>]);
      if (rows.length) view.tables.push(tableFrom(title, rows));
      else view.tables.push(tableFrom(title, keys.map((k) => [k, { value: v[k] as number }])));
      return;
    }
    // metric → {genre: value}: transpose to genre rows.
    const byMetric = keys.filter((k) => isObj(v[k]) && genreLike(Object.keys(v[k] as object)) && numericRecord(v[k]));
    if (byMetric.length >= 2) {
      const gs = [...new Set(byMetric.flatMap((k) => Object.keys(v[k] as object)))];
      view.tables.push(tableFrom(title, gs.map((g) => [g, Object.fromEntries(byMetric.map((k) => [k, (v[k] as Record<string, number>)[g]!]))])));
      for (const k of keys) if (!byMetric.includes(k)) walk(v[k], [...pathParts, k], depth + 1);
      return;
    }
    for (const k of keys) walk(v[k], [...pathParts, k], depth + 1);
  };
  walk(root, [], 0);
  return view;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toFixed(3));

export function renderMetrics(view: MetricsView, maxScalars = 24): string {
  const tiles = view.scalars
    .slice(0, maxScalars)
    .map((s) => `<div>${escapeHtml(s.name)}<b>${fmt(s.value)}</b></div>`)
    .join('');
  const tables = view.tables
    .map(
      (t) =>
        `<table class="metrics"><caption class="note" style="text-align:left">${escapeHtml(t.title)}</caption><thead><tr><th></th>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
          .map((r) => `<tr><td>${escapeHtml(r.label)}</td>${r.values.map((v) => `<td>${v === null ? '' : fmt(v)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
    )
    .join('');
  return (tiles ? `<div class="kv">${tiles}</div>` : '') + tables;
}

const SUMMARY_KEYS = ['microAuc', 'macroAuc', 'mAP', 'microF1', 'macroF1', 'hammingLoss', 'top1'];

/**
 * `classifier evaluate`'s JSON ({model_metrics, baselines: {genrePrior, allNegative}}) or a bare
 * report ({perGenre, microAuc, ...}, as metadata.validation holds): the model beside its baselines,
 * then its per-genre table. Null when the shape is not that, so the generic view takes over.
 */
export function renderEvaluation(root: Json): string | null {
  if (!isObj(root)) return null;
  const model = isObj(root.model_metrics) ? root.model_metrics : isObj(root.perGenre) ? root : null;
  if (!model || !isObj(model.perGenre)) return null;
  const base = isObj(root.baselines) ? root.baselines : {};
  const cols: [string, Record<string, Json>][] = [['model', model]];
  for (const [k, label] of [['genrePrior', 'genre-prior baseline'], ['allNegative', 'all-negative baseline']] as const) {
    if (isObj(base[k])) cols.push([label, base[k] as Record<string, Json>]);
  }
  const keys = SUMMARY_KEYS.filter((k) => isNum(model[k]));
  const summary: MetricTable = {
    title: `${root.split ? `${String(root.split)} split` : 'validation'}${isNum(root.count) ? `, ${root.count} posters` : ''}${isNum(root.seedReportedTop1) ? ` (the seed reported top-1 ${(root.seedReportedTop1 * 100).toFixed(0)}%)` : ''}`,
    columns: cols.map((c) => c[0]),
    rows: keys.map((k) => ({ label: k, values: cols.map(([, r]) => (isNum(r[k]) ? r[k] : null)) })),
  };
  const perGenre = tableFrom(
    'per genre',
    Object.entries(model.perGenre as Record<string, Json>)
      .map(([g, v]) => [g, numericRecord(v)] as const)
      .filter((r): r is [string, Record<string, number>] => r[1] !== null),
  );
  return renderMetrics({ tables: [summary, perGenre], scalars: [] });
}
