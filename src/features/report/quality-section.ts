/**
 * The sample-quality section: the `dcgan eval` curve (KID, FID, precision and recall per
 * checkpoint, the real-vs-real and noise scale, the feature network) beside the in-training KID
 * of kid.csv. The report and serve's Runs tab both draw it from here.
 */
import type { CurveRow, Metrics } from '../../artifacts/eval-curve.js';
import { escapeHtml } from '../../core/escape.js';
import type { QualityInputs } from './inputs.js';
import type { SectionHtml } from './page.js';
import { lineChart, type Series } from './svg.js';

const COLORS = { eval: '#3b5bdb', training: '#e8590c', precision: '#2b8a3e', recall: '#c2255c', real: '#868e96' };
const num = (v: number) => (!Number.isFinite(v) ? 'n/a' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
const kidText = (m: Metrics) => `${num(m.kid.mean)} ± ${num(m.kid.std)}`;

function chart(series: Series[], title: string, xLabel: string, yLabel: string, width: number): string {
  return lineChart(series, { title, xLabel, yLabel, width, height: 300, zeroBased: true });
}

/** A dashed level across the x range of the other series. */
function level(name: string, y: number, xs: readonly number[]): Series[] {
  if (!xs.length || !Number.isFinite(y)) return [];
  const points = [[Math.min(...xs), y] as const, [Math.max(...xs), y] as const];
  return [{ name, color: COLORS.real, reference: true, points }];
}

/** KID and FID charts over `x` (iteration or CPU minutes) for the rows that have one. */
function curveCharts(rows: readonly CurveRow[], x: (r: CurveRow) => number, xLabel: string, realVsReal: Metrics) {
  const xs = rows.map(x);
  const kid: Series = {
    name: 'eval KID',
    color: COLORS.eval,
    points: rows.map((r) => [x(r), r.kid.mean]),
    errors: rows.map((r) => r.kid.std),
  };
  return {
    kid,
    xs,
    fid: chart(
      [
        { name: 'eval FID', color: COLORS.eval, points: rows.map((r) => [x(r), r.fid]) },
        ...level('real vs real', realVsReal.fid, xs),
      ],
      `FID over ${xLabel}`,
      xLabel,
      'FID',
      490,
    ),
  };
}

export function qualitySection(q: QualityInputs): SectionHtml {
  const why = q.problems.map((p) => `${escapeHtml(p)}; `).join('');
  const s: SectionHtml = {
    id: 'quality',
    title: 'Sample quality: KID, FID, precision, recall',
    body: null,
    missing: `${why}run <code>dcgan eval --checkpoint samples/</code> (it writes eval.json beside the grids; <code>--cpu_log</code> adds CPU minutes) or train with <code>--eval_every</code> (kid.csv)`,
  };
  const c = q.curve;
  const rows = c?.rows ?? [];
  if (!rows.length && !q.kid.length) return s;
  const training: Series[] = q.kid.length
    ? [
        {
          name: 'in-training KID (kid.csv)',
          color: COLORS.training,
          points: q.kid.map((k) => [k.iteration, k.mean]),
          errors: q.kid.map((k) => k.std),
        },
      ]
    : [];
  const parts: string[] = [];
  const intro: string[] = [];
  if (c && rows.length) {
    const last = rows[rows.length - 1]!;
    const rr = c.scale.realVsReal;
    parts.push(
      `<div class="kv"><div>feature network (${c.featureDim}-d)<b><code>${escapeHtml(c.key.featureNet)}</code></b></div>` +
        `<div>latest checkpoint, iteration ${last.iteration}<b>KID ${kidText(last)} · FID ${num(last.fid)}</b></div>` +
        `<div>precision / recall<b>${num(last.precision)} / ${num(last.recall)}</b></div>` +
        `<div>real vs real (floor)<b>KID ${kidText(rr)} · FID ${num(rr.fid)}</b></div>` +
        `<div>noise (ceiling)<b>KID ${kidText(c.scale.noise)} · FID ${num(c.scale.noise.fid)}</b></div></div>`,
    );
    const byIt = curveCharts(rows, (r) => r.iteration, 'iteration', rr);
    const xs = [...byIt.xs, ...q.kid.map((k) => k.iteration)];
    parts.push(
      chart(
        [byIt.kid, ...training, ...level('real vs real', rr.kid.mean, xs)],
        'KID over iteration',
        'iteration',
        'KID',
        1000,
      ),
    );
    const pr: Series[] = [
      { name: 'precision', color: COLORS.precision, points: rows.map((r) => [r.iteration, r.precision]) },
      { name: 'recall', color: COLORS.recall, points: rows.map((r) => [r.iteration, r.recall]) },
    ];
    parts.push(`<div class="charts">${byIt.fid}${chart(pr, 'precision and recall', 'iteration', 'share', 490)}</div>`);
    const timed = rows.filter((r) => r.cpuMinutes !== null && Number.isFinite(r.cpuMinutes));
    if (timed.length) {
      const byCpu = curveCharts(timed, (r) => r.cpuMinutes!, 'CPU minutes', rr);
      const kidCpu = chart(
        [byCpu.kid, ...level('real vs real', rr.kid.mean, byCpu.xs)],
        'KID over CPU minutes',
        'CPU minutes',
        'KID',
        490,
      );
      parts.push(`<div class="charts">${kidCpu}${byCpu.fid}</div>`);
      if (timed.length < rows.length)
        parts.push(
          `<p class="note">${rows.length - timed.length} of ${rows.length} checkpoints fall outside the CPU log and are left off the CPU-minutes charts.</p>`,
        );
    } else {
      parts.push(
        '<p class="note">No CPU-minutes charts: no checkpoint of this curve has CPU minutes (dcgan eval ran without <code>--cpu_log</code>, or the checkpoints fall outside that log); run it again with <code>--cpu_log</code> and <code>--fresh</code>.</p>',
      );
    }
    intro.push(
      `From <code>dcgan eval</code> (${escapeHtml(q.curveFile)}): per checkpoint, ${last.n} generated posters against ${c.scale.reference} real ones in the features of <code>${escapeHtml(c.key.featureNet)}</code>; KID is unbiased, with its std over subsets as error bars. Lower KID and FID are closer to real; real vs real (dashed) is the floor, noise the ceiling. Precision is the share of generated posters inside the real posters’ k-nearest-neighbour manifold, recall the share of real posters inside the generated one.`,
    );
  } else {
    parts.push(chart(training, 'KID over iteration', 'iteration', 'KID', 1000));
    intro.push(
      'Only the in-training KID of <code>dcgan train --eval_every</code> (kid.csv: a few hundred samples, no scale, no network name). Run <code>dcgan eval --checkpoint samples/</code> for the full curve.',
    );
  }
  if (q.kid.length && rows.length)
    intro.push(
      'The in-training KID (kid.csv) uses the few samples of <code>--eval_every</code>: it tracks the trend, the eval curve gives the numbers.',
    );
  intro.push(
    'The per-grid poster-FID of <code>poster-studio fid</code> is the cheap in-training signal; the <code>dcgan eval</code> curve, from one named feature network and thousands of samples, is the one to compare generators with.',
  );
  if (q.problems.length) intro.push(`Not read: ${why.replace(/; $/, '')}.`);
  s.intro = intro.join(' ');
  s.body = parts.join('');
  return s;
}
