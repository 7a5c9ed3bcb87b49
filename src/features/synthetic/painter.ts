/**
 * Paints one synthetic poster. Each genre leaves cues a small CNN can learn and a person can
 * see: a palette (the first genre's), a motif (every genre adds its own), a title block whose
 * place and colour depend on the genre, and the decade as fading. Random jitter keeps it from
 * being trivial.
 */
import type { Rng } from '../../core/random.js';
import {
  addNoise,
  age,
  type Canvas,
  createCanvas,
  fillEllipse,
  fillLine,
  fillRect,
  fillTriangle,
  type Rgb,
  verticalGradient,
} from './canvas.js';

interface GenreStyle {
  top: Rgb;
  bottom: Rgb;
  /** Motif colour. */
  accent: Rgb;
  /** Title block: at the top or the bottom, and its colour. */
  title: 'top' | 'bottom';
  ink: Rgb;
  motif: (cv: Canvas, rng: Rng, s: GenreStyle) => void;
}

const jit = (rng: Rng, v: number, amount: number): number => v + (rng.next() - 0.5) * 2 * amount;

function figure(cv: Canvas, rng: Rng, cx: number, baseY: number, scale: number, c: Rgb): void {
  fillEllipse(cv, cx, baseY - 70 * scale, 11 * scale, 13 * scale, c);
  fillEllipse(cv, cx, baseY - 30 * scale, 17 * scale, 32 * scale, c);
  void rng;
}

const STYLES: Record<string, GenreStyle> = {
  Drama: {
    top: [70, 85, 110],
    bottom: [150, 160, 175],
    accent: [30, 35, 50],
    title: 'bottom',
    ink: [235, 235, 240],
    motif: (cv, rng, s) => figure(cv, rng, jit(rng, cv.width / 2, 20), jit(rng, 200, 15), 1.6, s.accent),
  },
  Comedy: {
    top: [255, 235, 80],
    bottom: [255, 255, 235],
    accent: [230, 60, 60],
    title: 'top',
    ink: [220, 30, 30],
    motif: (cv, rng) => {
      const colours: Rgb[] = [
        [240, 70, 70],
        [60, 140, 240],
        [70, 200, 90],
        [250, 150, 30],
      ];
      for (let i = 0; i < 4 + rng.int(3); i++) {
        fillEllipse(
          cv,
          jit(rng, cv.width / 2, 70),
          jit(rng, 150, 60),
          14 + rng.int(10),
          16 + rng.int(10),
          colours[i % 4]!,
        );
      }
    },
  },
  Action: {
    top: [250, 140, 30],
    bottom: [20, 15, 10],
    accent: [255, 220, 120],
    title: 'bottom',
    ink: [255, 255, 255],
    motif: (cv, rng, s) => {
      for (let i = 0; i < 5 + rng.int(4); i++) {
        const x = rng.next() * cv.width;
        fillLine(cv, x, cv.height * 0.2, x + 60 + rng.next() * 40, cv.height * 0.75, 3 + rng.int(4), s.accent, 0.8);
      }
      figure(cv, rng, jit(rng, cv.width / 2, 25), jit(rng, 215, 10), 1.3, [15, 10, 5]);
    },
  },
  Animation: {
    top: [40, 170, 250],
    bottom: [120, 220, 255],
    accent: [255, 60, 60],
    title: 'top',
    ink: [255, 230, 0],
    motif: (cv, rng) => {
      const colours: Rgb[] = [
        [255, 60, 60],
        [255, 220, 0],
        [60, 200, 60],
        [255, 255, 255],
      ];
      for (let i = 0; i < 3; i++) {
        const cx = jit(rng, 45 + i * 45, 10);
        const cy = jit(rng, 170, 25);
        const r = 18 + rng.int(10);
        fillEllipse(cv, cx, cy, r + 3, r + 3, [20, 20, 20]);
        fillEllipse(cv, cx, cy, r, r, colours[(i + rng.int(4)) % 4]!);
      }
    },
  },
  Romance: {
    top: [250, 180, 200],
    bottom: [200, 80, 120],
    accent: [230, 30, 80],
    title: 'bottom',
    ink: [255, 245, 250],
    motif: (cv, rng, s) => {
      const cx = jit(rng, cv.width / 2, 15);
      const cy = jit(rng, 110, 15);
      fillEllipse(cv, cx - 12, cy, 16, 16, s.accent);
      fillEllipse(cv, cx + 12, cy, 16, 16, s.accent);
      fillTriangle(cv, cx - 27, cy + 5, cx + 27, cy + 5, cx, cy + 38, s.accent);
      figure(cv, rng, cx - 25, 235, 0.9, [90, 30, 50]);
      figure(cv, rng, cx + 25, 235, 0.9, [90, 30, 50]);
    },
  },
  Adventure: {
    top: [150, 200, 230],
    bottom: [90, 130, 60],
    accent: [110, 80, 50],
    title: 'top',
    ink: [255, 215, 120],
    motif: (cv, rng, s) => {
      const horizon = jit(rng, 175, 15);
      for (let i = 0; i < 3; i++) {
        const px = jit(rng, 30 + i * 60, 15);
        fillTriangle(cv, px - 50, horizon, px + 50, horizon, px, horizon - 60 - rng.int(30), s.accent);
        fillTriangle(cv, px - 10, horizon - 48, px + 10, horizon - 48, px, horizon - 62, [245, 245, 250]);
      }
      fillRect(cv, 0, horizon, cv.width, cv.height - horizon, [70, 110, 40]);
    },
  },
  Horror: {
    top: [10, 5, 5],
    bottom: [90, 0, 0],
    accent: [200, 0, 0],
    title: 'top',
    ink: [200, 20, 20],
    motif: (cv, rng, s) => {
      for (let i = 0; i < 6 + rng.int(5); i++) {
        const x = rng.next() * cv.width;
        fillRect(cv, x, 0, 3 + rng.int(3), 30 + rng.int(60), s.accent, 0.9);
      }
      const cy = jit(rng, 140, 20);
      fillEllipse(cv, cv.width / 2 - 18, cy, 7, 4, [240, 240, 200]);
      fillEllipse(cv, cv.width / 2 + 18, cy, 7, 4, [240, 240, 200]);
    },
  },
  'Sci-Fi': {
    top: [10, 10, 50],
    bottom: [60, 20, 110],
    accent: [80, 220, 255],
    title: 'bottom',
    ink: [120, 240, 255],
    motif: (cv, rng, s) => {
      for (let i = 0; i < 40; i++) fillRect(cv, rng.next() * cv.width, rng.next() * 140, 2, 2, [255, 255, 255]);
      for (let i = 0; i < 7; i++) fillLine(cv, cv.width / 2, 150, i * 30 - 10, cv.height, 1.5, s.accent, 0.8);
      fillEllipse(cv, jit(rng, 120, 20), jit(rng, 60, 15), 22, 22, [200, 120, 255]);
    },
  },
  Crime: {
    top: [25, 25, 25],
    bottom: [60, 55, 40],
    accent: [240, 200, 40],
    title: 'bottom',
    ink: [250, 210, 40],
    motif: (cv, rng, s) => {
      for (let y = 20 + rng.int(8); y < 190; y += 14) fillRect(cv, 0, y, cv.width, 5, s.accent, 0.55);
      figure(cv, rng, jit(rng, cv.width / 2, 30), 220, 1.2, [10, 10, 10]);
    },
  },
  Mystery: {
    top: [20, 60, 70],
    bottom: [120, 150, 150],
    accent: [200, 220, 220],
    title: 'top',
    ink: [220, 240, 240],
    motif: (cv, rng, s) => {
      figure(cv, rng, jit(rng, cv.width / 2, 30), 230, 1.4, [15, 30, 35]);
      for (let i = 0; i < 6; i++) fillEllipse(cv, rng.next() * cv.width, jit(rng, 200, 40), 40, 10, s.accent, 0.35);
    },
  },
  Thriller: {
    top: [40, 45, 55],
    bottom: [10, 10, 15],
    accent: [230, 230, 230],
    title: 'bottom',
    ink: [230, 50, 40],
    motif: (cv, rng, s) => {
      const x = jit(rng, cv.width / 2, 30);
      fillRect(cv, x, 0, 4, cv.height, s.accent);
      fillEllipse(cv, x - 30, 120, 22, 28, [90, 95, 105]);
    },
  },
  War: {
    top: [120, 115, 80],
    bottom: [70, 70, 45],
    accent: [160, 150, 130],
    title: 'top',
    ink: [230, 220, 190],
    motif: (cv, rng, s) => {
      for (let i = 0; i < 5; i++) fillEllipse(cv, rng.next() * cv.width, jit(rng, 110, 40), 30, 22, s.accent, 0.6);
      fillRect(cv, 0, 200, cv.width, 68, [50, 50, 30]);
      for (let i = 0; i < 3; i++) figure(cv, rng, 40 + i * 50, 215, 0.7, [30, 30, 20]);
    },
  },
  Family: {
    top: [140, 210, 250],
    bottom: [150, 230, 140],
    accent: [255, 210, 60],
    title: 'top',
    ink: [255, 120, 40],
    motif: (cv, rng, s) => {
      fillEllipse(cv, jit(rng, 140, 15), jit(rng, 70, 10), 20, 20, s.accent);
      for (let i = 0; i < 4; i++) figure(cv, rng, 35 + i * 38, 230, 0.55 + (i % 2) * 0.25, [250, 110, 60]);
    },
  },
  Western: {
    top: [250, 190, 110],
    bottom: [200, 120, 50],
    accent: [255, 240, 180],
    title: 'bottom',
    ink: [90, 40, 10],
    motif: (cv, rng, s) => {
      fillEllipse(cv, jit(rng, cv.width / 2, 20), jit(rng, 120, 10), 30, 30, s.accent);
      fillRect(cv, 0, 160, cv.width, 108, [170, 100, 40]);
      const x = jit(rng, 40, 15);
      fillRect(cv, x, 110, 8, 55, [40, 90, 40]);
      fillRect(cv, x - 12, 125, 12, 5, [40, 90, 40]);
    },
  },
};

/** Blocky pseudo-text: a title line and a credits line, no font needed. */
function titleBlock(cv: Canvas, rng: Rng, s: GenreStyle): void {
  const y = s.title === 'top' ? 12 + rng.int(8) : cv.height - 52 + rng.int(8);
  let x = 12 + rng.int(10);
  while (x < cv.width - 20) {
    const w = 6 + rng.int(12);
    fillRect(cv, x, y, w, 16, s.ink);
    x += w + 4 + (rng.next() < 0.2 ? 8 : 0);
  }
  for (let cx = 14; cx < cv.width - 14; cx += 5) fillRect(cv, cx, y + 24, 3, 3, s.ink, 0.6);
}

export interface PosterSpec {
  genres: readonly string[];
  year: number | null;
}

export function paintPoster(spec: PosterSpec, rng: Rng, width = 182, height = 268): Canvas {
  const cv = createCanvas(width, height);
  const styles = spec.genres.map((g) => STYLES[g]).filter((s): s is GenreStyle => s !== undefined);
  const main = styles[0] ?? STYLES.Drama!;
  const shade = (c: Rgb): Rgb => [jit(rng, c[0], 18), jit(rng, c[1], 18), jit(rng, c[2], 18)];
  verticalGradient(cv, shade(main.top), shade(main.bottom));
  for (const s of styles.length ? styles : [main]) s.motif(cv, rng, s);
  titleBlock(cv, rng, main);
  // Older posters are faded: 1950 -> strong sepia, 2010s -> none.
  if (spec.year !== null) age(cv, Math.max(0, Math.min(0.7, (1995 - spec.year) / 60)));
  addNoise(cv, 10, () => rng.next());
  return cv;
}
