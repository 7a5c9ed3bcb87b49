/**
 * One function per report section. Each gets what was found and returns its HTML, or null body
 * plus the command that would produce the missing input: a section never throws the page away.
 */
import path from 'node:path';
import { splitGrid } from '../../core/images/grid.js';
import { loadImage, type GridSource } from '../scoring/scan.js';
import type { GenreMix, GridScores } from '../../artifacts/classify-json.js';
import { topGenres } from '../scoring/score.js';
import { fileAsDataUri, rgbAsPngUri } from './images.js';
import type { LossPoint } from '../../artifacts/losses-csv.js';
import type { FidJson } from '../../artifacts/fid-json.js';
import type { ModelInfo } from './inputs.js';
import { thin } from './inputs.js';
import { renderEvaluation } from './metrics.js';
import type { SectionHtml } from './page.js';
import { escapeHtml } from '../../core/escape.js';
import { groupedBars, lineChart, type Series } from './svg.js';

const PALETTE = [
  '#3b5bdb',
  '#e8590c',
  '#2b8a3e',
  '#c2255c',
  '#7048e8',
  '#0c8599',
  '#e67700',
  '#5c940d',
  '#862e9c',
  '#1864ab',
  '#d9480f',
  '#087f5b',
  '#a61e4d',
  '#495057',
];
const pct = (v: number) => `${Math.round(v * 100)}%`;
/** Distances span 0.01 (tiny models) to hundreds (real FIDs): three significant digits either way. */
const num = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
const iterLabel = (g: { iteration: number | null; file: string }) =>
  g.iteration !== null ? `iteration ${g.iteration}` : path.basename(g.file);

export async function gridsSection(
  grids: readonly GridSource[],
  fid: FidJson | null = null,
  maxShown = 8,
): Promise<SectionHtml> {
  const s: SectionHtml = {
    id: 'grids',
    title: 'Sample grids over time',
    body: null,
    missing: 'run <code>dcgan train</code> (it writes samples/grid_*.png every --sample_rate iterations)',
  };
  if (!grids.length) return s;
  const shown = thin(grids, maxShown);
  const figs: string[] = [];
  for (const g of shown) {
    const losses = g.losses ? ` · D ${g.losses.d.toFixed(2)} / G ${g.losses.g.toFixed(2)}` : '';
    const f = fid?.grids.find((x) => path.basename(x.file) === path.basename(g.file));
    const fidNote = f && Number.isFinite(f.fid) ? ` · FID ${num(f.fid)}` : '';
    figs.push(
      `<figure><img src="${await fileAsDataUri(g.file)}" alt="${escapeHtml(iterLabel(g))}"><figcaption>${escapeHtml(iterLabel(g))}${g.epoch !== null ? ` · epoch ${escapeHtml(String(g.epoch))}` : ''}${losses}${fidNote}</figcaption></figure>`,
    );
  }
  s.intro = `The same ${grids[0]!.geometry.rows * grids[0]!.geometry.cols} latent vectors at ${shown.length} of ${grids.length} saved grids (scroll sideways), oldest first.`;
  s.body = `<div class="timeline">${figs.join('')}</div>`;
  return s;
}

export function videoSection(videoSrc: string | null, note: string): SectionHtml {
  const s: SectionHtml = {
    id: 'video',
    title: 'Training video',
    body: null,
    missing:
      'run <code>dcgan render</code> (it writes samples/train.mp4; <code>dcgan train</code> renders it when training ends)',
  };
  if (!videoSrc) return s;
  s.body = `<video controls loop muted playsinline preload="metadata" src="${escapeHtml(videoSrc)}"></video><p class="note">${escapeHtml(note)}</p>`;
  return s;
}

export function lossesSection(losses: readonly LossPoint[], grids: readonly GridSource[]): SectionHtml {
  const s: SectionHtml = {
    id: 'losses',
    title: 'Loss curves',
    body: null,
    missing: 'run <code>dcgan train</code> (it writes samples/losses.csv)',
  };
  let pts = losses.map((l) => ({ it: l.iteration, d: l.d, g: l.g }));
  let from = 'samples/losses.csv';
  if (!pts.length) {
    pts = grids
      .filter((g) => g.losses && g.iteration !== null)
      .map((g) => ({ it: g.iteration!, d: g.losses!.d, g: g.losses!.g }));
    from = 'the grids’ sidecars';
  }
  if (!pts.length) return s;
  pts = thin(pts, 600);
  const series: Series[] = [
    { name: 'D loss', color: PALETTE[0]!, points: pts.map((p) => [p.it, p.d]) },
    { name: 'G loss', color: PALETTE[1]!, points: pts.map((p) => [p.it, p.g]) },
  ];
  s.intro = `Discriminator and generator loss per iteration, from ${from}.`;
  s.body = lineChart(series, {
    title: 'DCGAN losses',
    xLabel: 'iteration',
    yLabel: 'loss',
    width: 1000,
    height: 320,
    zeroBased: true,
  });
  return s;
}

export function fidSection(fid: FidJson | null): SectionHtml {
  const s: SectionHtml = {
    id: 'fid',
    title: 'Poster-FID over training',
    body: null,
    missing: 'run <code>poster-studio fid --real data/dcgan --samples samples/</code> (needs a trained classifier)',
  };
  if (!fid || !fid.grids.length) return s;
  const pts = fid.grids
    .filter((g) => Number.isFinite(g.fid))
    .map((g, i) => [g.iteration ?? i, g.fid] as [number, number]);
  const v = fid.validation ?? {};
  const tiles: string[] = [];
  const last = fid.grids[fid.grids.length - 1]!;
  tiles.push(`<div>latest grid (${escapeHtml(iterLabel(last))})<b>${num(last.fid)}</b></div>`);
  if (fid.grids.length > 1)
    tiles.push(`<div>first grid (${escapeHtml(iterLabel(fid.grids[0]!))})<b>${num(fid.grids[0]!.fid)}</b></div>`);
  if (Number.isFinite(v.realVsReal)) tiles.push(`<div>real vs real (two halves)<b>${num(v.realVsReal!)}</b></div>`);
  if (Number.isFinite(v.realVsNoise)) tiles.push(`<div>real vs noise<b>${num(v.realVsNoise!)}</b></div>`);
  const series: Series[] = [{ name: 'generated vs real', color: PALETTE[2]!, points: pts }];
  if (pts.length && Number.isFinite(v.realVsReal)) {
    series.push({
      name: 'real vs real',
      color: '#adb5bd',
      points: [
        [pts[0]![0], v.realVsReal!],
        [pts[pts.length - 1]![0], v.realVsReal!],
      ],
    });
  }
  s.intro = `Fréchet distance between the classifier's penultimate-layer features of ${escapeHtml(String(fid.real?.count ?? '?'))} real posters${fid.real?.dir ? ` (${escapeHtml(fid.real.dir)})` : ''} and of each grid's generated posters; lower is closer to real. Real-vs-real and real-vs-noise give the scale.`;
  s.body = `<div class="kv">${tiles.join('')}</div>${lineChart(series, { title: 'poster-FID', xLabel: 'iteration', yLabel: 'FID', width: 1000, height: 300, zeroBased: true })}`;
  return s;
}

function genreBars(scores: Record<string, number>, k: number): string {
  return topGenres(scores, k)
    .map(
      ([g, v]) =>
        `<div class="bar" style="--v:${(v * 100).toFixed(1)}%" title="${escapeHtml(g)} ${(v * 100).toFixed(1)}%">${escapeHtml(g)}<span>${pct(v)}</span></div>`,
    )
    .join('');
}

export async function postersSection(
  latest: GridSource | null,
  scores: GridScores | null,
  why: string,
): Promise<SectionHtml> {
  const s: SectionHtml = {
    id: 'posters',
    title: 'Latest generated posters by genre',
    body: null,
    missing: 'run <code>dcgan train</code> first',
  };
  if (!latest) return s;
  let cells;
  try {
    cells = splitGrid(await loadImage(latest.file), latest.geometry);
  } catch (err) {
    s.missing = `${escapeHtml(latest.file)} cannot be read (${escapeHtml((err as Error).message)})`;
    return s;
  }
  const items: string[] = [];
  for (const [i, c] of cells.entries()) {
    const sc = scores?.cells[i]?.scores;
    items.push(
      `<div class="poster"><img src="${await rgbAsPngUri(c)}" alt="poster ${i + 1}"><div class="cell">r${Math.floor(i / latest.geometry.cols) + 1}c${(i % latest.geometry.cols) + 1}</div>${sc ? genreBars(sc, 3) : ''}</div>`,
    );
  }
  s.intro = `${escapeHtml(iterLabel(latest))}: each poster with its top 3 genres by the classifier.`;
  // One column per grid column (when it fits), so the page reads like the grid itself.
  const cols =
    latest.geometry.cols <= 12
      ? ` style="grid-template-columns:repeat(${latest.geometry.cols}, minmax(0, 132px))"`
      : '';
  s.body =
    (scores ? '' : `<p class="na-line">genre bars not available: ${why}</p>`) +
    `<div class="posters"${cols}>${items.join('')}</div>`;
  return s;
}

export interface RealMix {
  mix: GenreMix;
  count: number;
  dir: string;
  /** Share of those posters whose movie has the genre (from the CSV), when known. */
  truth?: Record<string, number> | null;
}

export function mixSection(
  genres: readonly string[],
  generated: GenreMix | null,
  real: RealMix | null,
  history: readonly GridScores[],
  why: string,
): SectionHtml {
  const s: SectionHtml = { id: 'mix', title: 'Genre mix: generated vs real', body: null, missing: why };
  if (!generated && !real) return s;
  const truth = real?.truth ?? null;
  const groups = genres.map((g) => ({
    label: g,
    values: [
      generated ? (generated.meanScore[g] ?? 0) : null,
      real ? (real.mix.meanScore[g] ?? 0) : null,
      ...(truth ? [truth[g] ?? 0] : []),
    ],
  }));
  const names = [
    'generated (latest grid)',
    `real (${real?.count ?? 0} posters)`,
    ...(truth ? ['real: true genre share'] : []),
  ];
  const parts = [groupedBars(groups, names, [PALETTE[0]!, '#adb5bd', '#e9c46a'], 'mean genre score', 1000)];
  if (history.length > 1) {
    const series = genres.map((g, i) => ({
      name: g,
      color: PALETTE[i % PALETTE.length]!,
      points: history.map((h, k) => [h.iteration ?? k, h.mix.meanScore[g] ?? 0] as [number, number]),
    }));
    parts.push(
      lineChart(series, {
        title: 'genre mix of generated posters over training',
        xLabel: 'iteration',
        yLabel: 'mean score',
        width: 1000,
        height: 300,
        zeroBased: true,
      }),
    );
  }
  s.intro =
    `Mean classifier score per genre over the latest grid's posters${real ? ` and over ${real.count} real posters from ${escapeHtml(real.dir)}` : ''}.` +
    (!real ? ` Real posters: ${why}.` : '') +
    (!generated ? ' Generated: run <code>classify samples/</code>.' : '');
  s.body = parts.join('');
  return s;
}

export function metricsSection(info: ModelInfo | null): SectionHtml {
  const s: SectionHtml = {
    id: 'metrics',
    title: 'Classifier metrics',
    body: null,
    missing: 'run <code>poster-studio classifier train</code> then <code>poster-studio classifier evaluate</code>',
  };
  if (!info || (!info.metadata && !info.evaluation)) return s;
  // The evaluation JSON (model vs baselines) first, then the validation report in metadata.json.
  const [report, what] = info.evaluation
    ? [info.evaluation, 'its evaluation JSON']
    : info.metadata?.validation
      ? [info.metadata.validation, 'metadata.json (validation split)']
      : [null, ''];
  if (!report) {
    s.missing = `${escapeHtml(info.dir)} has no metrics yet; run <code>poster-studio classifier evaluate</code>`;
    return s;
  }
  s.intro = `Model <code>${escapeHtml(info.name)}</code> (${escapeHtml(info.dir)}), from ${what}.`;
  s.body = renderEvaluation(report);
  return s;
}

export interface SaliencyRow {
  file: string;
  original: string;
  movie?: { title: string; genres: string[] } | null;
  maps: { genre: string; uri: string; score: number }[];
}

export function saliencySection(rows: readonly SaliencyRow[] | null, why: string): SectionHtml {
  const s: SectionHtml = { id: 'saliency', title: 'What drives each genre (saliency)', body: null, missing: why };
  if (!rows || !rows.length) return s;
  s.intro =
    'Gradient of each genre’s score with respect to the input pixels on real posters: bright regions change the score most. The number is the classifier’s score for that genre; the movie’s own genres (from the CSV) are in bold.';
  s.body = `<div class="saliency">${rows
    .map(
      (r) =>
        `<div class="row"><figure><img src="${r.original}" alt="${escapeHtml(path.basename(r.file))}"><figcaption>${escapeHtml(r.movie?.title ?? path.basename(r.file))}${r.movie ? `<br><span class="note">${escapeHtml(r.movie.genres.join(', '))}</span>` : ''}</figcaption></figure>${r.maps
          .map(
            (m) =>
              `<figure><img src="${m.uri}" alt="${escapeHtml(m.genre)} saliency"><figcaption>${r.movie?.genres.includes(m.genre) ? '<b>' : ''}${escapeHtml(m.genre)}${r.movie?.genres.includes(m.genre) ? '</b>' : ''} ${pct(m.score)}</figcaption></figure>`,
          )
          .join('')}</div>`,
    )
    .join('')}</div>`;
  return s;
}
