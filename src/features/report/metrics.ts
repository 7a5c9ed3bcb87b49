/**
 * The classifier's metrics as HTML tables, from the typed evaluation and validation reports
 * (src/artifacts/classifier-evaluation.ts).
 */
import type { Evaluation, MultiLabelReport } from '../../artifacts/classifier-evaluation.js';
import { escapeHtml } from '../../core/escape.js';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export interface MetricTable {
  title: string;
  columns: string[];
  rows: { label: string; values: (number | null)[] }[];
}

export interface MetricsView {
  tables: MetricTable[];
  scalars: { name: string; value: number }[];
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
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.label)}</td>${r.values.map((v) => `<td>${v === null ? '' : fmt(v)}</td>`).join('')}</tr>`,
          )
          .join('')}</tbody></table>`,
    )
    .join('');
  return (tiles ? `<div class="kv">${tiles}</div>` : '') + tables;
}

const SUMMARY_KEYS = ['microAuc', 'macroAuc', 'mAP', 'microF1', 'macroF1', 'hammingLoss', 'top1'] as const;

/**
 * `classifier evaluate`'s JSON (the model beside its baselines) or the bare validation report
 * metadata.json holds: the summary metrics per column, then the model's per-genre table.
 */
export function renderEvaluation(root: Evaluation | MultiLabelReport): string {
  const isEvaluation = 'model_metrics' in root;
  const model = isEvaluation ? root.model_metrics : root;
  const cols: [string, MultiLabelReport][] = [['model', model]];
  if (isEvaluation)
    cols.push(
      ['genre-prior baseline', root.baselines.genrePrior],
      ['all-negative baseline', root.baselines.allNegative],
    );
  const keys = SUMMARY_KEYS.filter((k) => isNum(model[k]));
  const title = isEvaluation
    ? `${root.split} split, ${root.count} posters (the seed reported top-1 ${(root.seedReportedTop1 * 100).toFixed(0)}%)`
    : `validation, ${model.count} posters`;
  const summary: MetricTable = {
    title,
    columns: cols.map((c) => c[0]),
    rows: keys.map((k) => ({ label: k, values: cols.map(([, r]) => (isNum(r[k]) ? r[k] : null)) })),
  };
  const columns = ['precision', 'recall', 'f1', 'auc', 'ap', 'threshold', 'positives'] as const;
  const perGenre: MetricTable = {
    title: 'per genre',
    columns: [...columns],
    rows: Object.entries(model.perGenre).map(([g, m]) => ({
      label: g,
      values: columns.map((c) => (isNum(m[c]) ? m[c] : null)),
    })),
  };
  return renderMetrics({ tables: [summary, perGenre], scalars: [] });
}
