/**
 * Captions burned into frames with a built-in 5x7 bitmap font: ffmpeg's drawtext needs a font
 * file, and which fonts exist differs from machine to machine; pixels always work.
 */
import type { RgbImage } from '../../core/images/decode.js';

const G: Record<string, string[]> = {
  '0': [' ### ', '#   #', '#  ##', '# # #', '##  #', '#   #', ' ### '],
  '1': ['  #  ', ' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  '2': [' ### ', '#   #', '    #', '   # ', '  #  ', ' #   ', '#####'],
  '3': ['#####', '   # ', '  #  ', '   # ', '    #', '#   #', ' ### '],
  '4': ['   # ', '  ## ', ' # # ', '#  # ', '#####', '   # ', '   # '],
  '5': ['#####', '#    ', '#### ', '    #', '    #', '#   #', ' ### '],
  '6': ['  ## ', ' #   ', '#    ', '#### ', '#   #', '#   #', ' ### '],
  '7': ['#####', '    #', '   # ', '  #  ', ' #   ', ' #   ', ' #   '],
  '8': [' ### ', '#   #', '#   #', ' ### ', '#   #', '#   #', ' ### '],
  '9': [' ### ', '#   #', '#   #', ' ####', '    #', '   # ', ' ##  '],
  a: ['     ', '     ', ' ### ', '    #', ' ####', '#   #', ' ####'],
  c: ['     ', '     ', ' ### ', '#    ', '#    ', '#   #', ' ### '],
  e: ['     ', '     ', ' ### ', '#   #', '#####', '#    ', ' ### '],
  g: ['     ', '     ', ' ####', '#   #', ' ####', '    #', ' ### '],
  h: ['#    ', '#    ', '# ## ', '##  #', '#   #', '#   #', '#   #'],
  i: ['  #  ', '     ', ' ##  ', '  #  ', '  #  ', '  #  ', ' ### '],
  l: [' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  n: ['     ', '     ', '# ## ', '##  #', '#   #', '#   #', '#   #'],
  o: ['     ', '     ', ' ### ', '#   #', '#   #', '#   #', ' ### '],
  p: ['     ', '     ', '#### ', '#   #', '#### ', '#    ', '#    '],
  r: ['     ', '     ', '# ## ', '##  #', '#    ', '#    ', '#    '],
  s: ['     ', '     ', ' ####', '#    ', ' ### ', '    #', '#### '],
  t: [' #   ', ' #   ', '###  ', ' #   ', ' #   ', ' #  #', '  ## '],
  D: ['#### ', '#   #', '#   #', '#   #', '#   #', '#   #', '#### '],
  G: [' ### ', '#   #', '#    ', '# ###', '#   #', '#   #', ' ####'],
  '.': ['     ', '     ', '     ', '     ', '     ', ' ##  ', ' ##  '],
  ':': ['     ', ' ##  ', ' ##  ', '     ', ' ##  ', ' ##  ', '     '],
  '=': ['     ', '     ', '#####', '     ', '#####', '     ', '     '],
  '-': ['     ', '     ', '     ', '#####', '     ', '     ', '     '],
};

const GLYPH_W = 5;
const GLYPH_H = 7;

/** The pixel scale that fits `text` into `width` (at most 3, at least 1). */
export function captionScale(text: string, width: number): number {
  const natural = text.length * (GLYPH_W + 1) + 2;
  return Math.max(1, Math.min(3, Math.floor(width / natural)));
}

/** Height in pixels of a caption strip at `scale`. */
export const captionHeight = (scale: number): number => (GLYPH_H + 4) * scale;

/** A black strip `width` wide with `text` in white, left-aligned; characters without a glyph are blank. */
export function renderCaption(text: string, width: number, scale = captionScale(text, width)): RgbImage {
  const height = captionHeight(scale);
  const data = new Uint8Array(width * height * 3);
  let x0 = 2 * scale;
  for (const ch of text) {
    const glyph = G[ch];
    if (glyph) {
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (row[gx] !== '#') continue;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const x = x0 + gx * scale + dx;
              const y = 2 * scale + gy * scale + dy;
              if (x < width) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
            }
          }
        }
      });
    }
    x0 += (GLYPH_W + 1) * scale;
  }
  return { width, height, data };
}

/** The image with a caption strip below it (the caption never covers a poster). */
export function withCaption(img: RgbImage, text: string, scale = captionScale(text, img.width)): RgbImage {
  const cap = renderCaption(text, img.width, scale);
  const data = new Uint8Array(img.width * (img.height + cap.height) * 3);
  data.set(img.data, 0);
  data.set(cap.data, img.data.length);
  return { width: img.width, height: img.height + cap.height, data };
}
