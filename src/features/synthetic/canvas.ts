/**
 * A tiny RGB canvas for the synthetic posters: flat shapes, gradients and noise drawn straight
 * into bytes. No fonts, no SVG: the same seed gives the same pixels on every machine.
 */
export type Rgb = readonly [number, number, number];

export interface Canvas {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createCanvas(width: number, height: number): Canvas {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Blends colour c into pixel (x, y) with opacity a (0..1). */
function blend(cv: Canvas, x: number, y: number, c: Rgb, a: number): void {
  if (x < 0 || y < 0 || x >= cv.width || y >= cv.height) return;
  const i = (y * cv.width + x) * 3;
  const d = cv.data;
  d[i] = d[i]! + (c[0] - d[i]!) * a;
  d[i + 1] = d[i + 1]! + (c[1] - d[i + 1]!) * a;
  d[i + 2] = d[i + 2]! + (c[2] - d[i + 2]!) * a;
}

/** Vertical gradient from `top` to `bottom`. */
export function verticalGradient(cv: Canvas, top: Rgb, bottom: Rgb): void {
  for (let y = 0; y < cv.height; y++) {
    const t = y / (cv.height - 1);
    const c: Rgb = [
      top[0] + (bottom[0] - top[0]) * t,
      top[1] + (bottom[1] - top[1]) * t,
      top[2] + (bottom[2] - top[2]) * t,
    ];
    for (let x = 0; x < cv.width; x++) {
      const i = (y * cv.width + x) * 3;
      cv.data[i] = c[0];
      cv.data[i + 1] = c[1];
      cv.data[i + 2] = c[2];
    }
  }
}

export function fillRect(cv: Canvas, x0: number, y0: number, w: number, h: number, c: Rgb, a = 1): void {
  const xs = Math.max(0, Math.round(x0));
  const ys = Math.max(0, Math.round(y0));
  const xe = Math.min(cv.width, Math.round(x0 + w));
  const ye = Math.min(cv.height, Math.round(y0 + h));
  for (let y = ys; y < ye; y++) for (let x = xs; x < xe; x++) blend(cv, x, y, c, a);
}

/** An ellipse with a soft one-pixel edge. */
export function fillEllipse(cv: Canvas, cx: number, cy: number, rx: number, ry: number, c: Rgb, a = 1): void {
  const x0 = Math.floor(cx - rx - 1);
  const x1 = Math.ceil(cx + rx + 1);
  const y0 = Math.floor(cy - ry - 1);
  const y1 = Math.ceil(cy + ry + 1);
  const r = Math.min(rx, ry);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = (x - cx) / rx;
      const dy = (y - cy) / ry;
      const d = Math.sqrt(dx * dx + dy * dy);
      const edge = (1 - d) * r;
      if (edge <= -0.5) continue;
      blend(cv, x, y, c, a * Math.min(1, edge + 0.5));
    }
  }
}

/** A filled triangle (mountains, spikes). */
export function fillTriangle(
  cv: Canvas,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  qx: number,
  qy: number,
  c: Rgb,
  a = 1,
): void {
  const minX = Math.max(0, Math.floor(Math.min(ax, bx, qx)));
  const maxX = Math.min(cv.width - 1, Math.ceil(Math.max(ax, bx, qx)));
  const minY = Math.max(0, Math.floor(Math.min(ay, by, qy)));
  const maxY = Math.min(cv.height - 1, Math.ceil(Math.max(ay, by, qy)));
  const area = (bx - ax) * (qy - ay) - (qx - ax) * (by - ay);
  if (area === 0) return;
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const w0 = ((bx - x) * (qy - y) - (qx - x) * (by - y)) / area;
      const w1 = ((qx - x) * (ay - y) - (ax - x) * (qy - y)) / area;
      const w2 = 1 - w0 - w1;
      if (w0 >= 0 && w1 >= 0 && w2 >= 0) blend(cv, x, y, c, a);
    }
  }
}

/** A straight band of width `w` from (x0, y0) to (x1, y1): streaks, rays. */
export function fillLine(cv: Canvas, x0: number, y0: number, x1: number, y1: number, w: number, c: Rgb, a = 1): void {
  const len = Math.hypot(x1 - x0, y1 - y0);
  const steps = Math.max(1, Math.ceil(len));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    fillEllipse(cv, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, w / 2, w / 2, c, a);
  }
}

/** Adds uniform noise of amplitude `amp` from a seeded source, like film grain. */
export function addNoise(cv: Canvas, amp: number, next: () => number): void {
  const d = cv.data;
  for (let i = 0; i < d.length; i += 3) {
    const n = (next() - 0.5) * 2 * amp;
    d[i] = clamp(d[i]! + n);
    d[i + 1] = clamp(d[i + 1]! + n);
    d[i + 2] = clamp(d[i + 2]! + n);
  }
}

/**
 * Ages the image: older posters come out faded and sepia, newer ones saturated. `age` is 0 for
 * a new poster, 1 for a very old one.
 */
export function age(cv: Canvas, amount: number): void {
  if (amount <= 0) return;
  const d = cv.data;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]!;
    const g = d[i + 1]!;
    const b = d[i + 2]!;
    const sr = 0.393 * r + 0.769 * g + 0.189 * b;
    const sg = 0.349 * r + 0.686 * g + 0.168 * b;
    const sb = 0.272 * r + 0.534 * g + 0.131 * b;
    d[i] = clamp(r + (sr * 0.85 + 20 - r) * amount);
    d[i + 1] = clamp(g + (sg * 0.85 + 20 - g) * amount);
    d[i + 2] = clamp(b + (sb * 0.85 + 20 - b) * amount);
  }
}
