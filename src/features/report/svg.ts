/**
 * Charts as inline SVG strings, so the report needs no chart library and no network: a line
 * chart (losses, FID over training) and grouped horizontal bars (genre mix).
 */
import { escapeHtml } from '../../core/escape.js';

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** Half-height of an error bar per point (KID's std over subsets), same order as points. */
  errors?: readonly number[];
  /** A reference level (real vs real), drawn dashed without point marks. */
  reference?: boolean;
}

/** 1, 2 or 5 times a power of ten, so the axis labels are round numbers. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

const fmt = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e4) return `${+(v / 1000).toFixed(1)}k`;
  if (a >= 100 || v === 0) return String(Math.round(v));
  return String(+v.toPrecision(3));
};

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Keep 0 on the y axis (losses, distances). */
  zeroBased?: boolean;
}

export function lineChart(series: readonly Series[], o: LineChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 300;
  const m = { l: 58, r: 16, t: 34, b: 44 };
  const pts = series
    .flatMap((s) => s.points.flatMap(([x, y], i) => [-1, 1].map((k) => [x, y + k * (s.errors?.[i] ?? 0)] as const)))
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) return '';
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = niceTicks(o.zeroBased ? Math.min(0, ...ys) : Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [xt[0]!, xt[xt.length - 1]!];
  const [y0, y1] = [yt[0]!, yt[yt.length - 1]!];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" role="img" aria-label="${escapeHtml(o.title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">`,
  );
  parts.push(`<text x="${m.l}" y="20" class="chart-title">${escapeHtml(o.title)}</text>`);
  for (const t of yt) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(t)}</text>`);
  }
  for (const t of xt)
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" class="tick">${fmt(t)}</text>`);
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" class="axis"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" class="axis"/>`);
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" class="label">${escapeHtml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeHtml(o.yLabel)}</text>`,
  );
  for (const s of series) {
    const finite = ([x, y]: readonly [number, number]) => Number.isFinite(x) && Number.isFinite(y);
    const p = s.points.filter(finite);
    if (p.length === 0) continue;
    s.points.forEach(([x, y], i) => {
      const e = s.errors?.[i];
      if (!finite([x, y]) || !e || !Number.isFinite(e)) return;
      const [cx, top, bot] = [sx(x).toFixed(1), sy(y + e).toFixed(1), sy(y - e).toFixed(1)];
      parts.push(
        `<path d="M${cx} ${top} V${bot} M${+cx - 4} ${top} h8 M${+cx - 4} ${bot} h8" stroke="${s.color}" stroke-width="1.2" opacity="0.6" class="errorbar"/>`,
      );
    });
    const d = p.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.reference ? ' stroke-dasharray="6 4"' : ''} class="series"><title>${escapeHtml(s.name)}</title></path>`,
    );
    // Few points: mark them, so a two-grid run still reads as data, not a drawn line.
    if (p.length <= 40 && !s.reference)
      for (const [x, y] of p)
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeHtml(`${s.name}: ${fmt(x)}, ${fmt(y)}`)}</title></circle>`,
        );
  }
  let lx = W - m.r;
  for (const s of [...series].reverse()) {
    const w = 26 + s.name.length * 7.5;
    lx -= w;
    parts.push(
      `<rect x="${lx}" y="10" width="12" height="12" fill="${s.color}" rx="2"/><text x="${lx + 16}" y="20" class="legend">${escapeHtml(s.name)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface BarGroup {
  label: string;
  values: readonly (number | null)[];
}

/** Horizontal bars, one group per label, one bar per series; values in [0, 1] shown as %. */
export function groupedBars(
  groups: readonly BarGroup[],
  seriesNames: readonly string[],
  colors: readonly string[],
  title: string,
  width = 640,
): string {
  if (groups.length === 0) return '';
  const barH = 12;
  const groupH = seriesNames.length * (barH + 3) + 10;
  const m = { l: 110, r: 60, t: 34 };
  const H = m.t + groups.length * groupH + 8;
  const max = Math.max(
    0.01,
    ...groups.flatMap((g) => g.values.filter((v): v is number => v !== null && Number.isFinite(v))),
  );
  const sx = (v: number) => (v / max) * (width - m.l - m.r);
  const parts = [
    `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${H}" width="${width}" height="${H}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(`<text x="${m.l}" y="20" class="chart-title">${escapeHtml(title)}</text>`);
  let lx = width - m.r + 50;
  for (let i = seriesNames.length - 1; i >= 0; i--) {
    lx -= 26 + seriesNames[i]!.length * 7.5;
    parts.push(
      `<rect x="${lx}" y="10" width="12" height="12" fill="${colors[i]}" rx="2"/><text x="${lx + 16}" y="20" class="legend">${escapeHtml(seriesNames[i]!)}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const y0 = m.t + gi * groupH;
    parts.push(
      `<text x="${m.l - 8}" y="${y0 + groupH / 2}" text-anchor="end" class="label">${escapeHtml(g.label)}</text>`,
    );
    g.values.forEach((v, si) => {
      const y = y0 + si * (barH + 3);
      if (v === null || !Number.isFinite(v)) {
        parts.push(`<text x="${m.l + 4}" y="${y + barH - 2}" class="tick">n/a</text>`);
        return;
      }
      parts.push(
        `<rect x="${m.l}" y="${y}" width="${Math.max(1, sx(v)).toFixed(1)}" height="${barH}" fill="${colors[si]}" rx="2"><title>${escapeHtml(`${seriesNames[si]} ${g.label}: ${(v * 100).toFixed(1)}%`)}</title></rect>`,
      );
      parts.push(
        `<text x="${(m.l + sx(v) + 4).toFixed(1)}" y="${y + barH - 2}" class="tick">${(v * 100).toFixed(0)}%</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('');
}
