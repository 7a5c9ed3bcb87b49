/**
 * Sample grids: rows x cols cells of equal size with a gap between them. The same geometry is
 * written to the grid's sidecar JSON so that `classify samples/` can cut the grid apart again.
 */
import type { RgbImage } from './decode.js';

export interface GridGeometry {
  rows: number;
  cols: number;
  cellWidth: number;
  cellHeight: number;
  /** Pixels between cells and around the border. */
  gap: number;
}

export function gridSize(g: GridGeometry): { width: number; height: number } {
  return { width: g.cols * g.cellWidth + (g.cols + 1) * g.gap, height: g.rows * g.cellHeight + (g.rows + 1) * g.gap };
}

/** Lays cells out row by row; missing cells stay the background colour. */
export function composeGrid(cells: readonly RgbImage[], g: GridGeometry, background = 0): RgbImage {
  const { width, height } = gridSize(g);
  const data = new Uint8Array(width * height * 3).fill(background);
  cells.slice(0, g.rows * g.cols).forEach((cell, i) => {
    if (cell.width !== g.cellWidth || cell.height !== g.cellHeight) {
      throw new Error(`grid cell ${i} is ${cell.width}x${cell.height}, expected ${g.cellWidth}x${g.cellHeight}`);
    }
    const x0 = g.gap + (i % g.cols) * (g.cellWidth + g.gap);
    const y0 = g.gap + Math.floor(i / g.cols) * (g.cellHeight + g.gap);
    for (let y = 0; y < g.cellHeight; y++) {
      const src = y * g.cellWidth * 3;
      data.set(cell.data.subarray(src, src + g.cellWidth * 3), ((y0 + y) * width + x0) * 3);
    }
  });
  return { width, height, data };
}

/** Cuts a grid back into its cells (the inverse of composeGrid). */
export function splitGrid(grid: RgbImage, g: GridGeometry): RgbImage[] {
  const { width, height } = gridSize(g);
  if (grid.width !== width || grid.height !== height) {
    throw new Error(
      `grid is ${grid.width}x${grid.height} but ${g.rows}x${g.cols} cells of ${g.cellWidth}x${g.cellHeight} with gap ${g.gap} make ${width}x${height}`,
    );
  }
  const cells: RgbImage[] = [];
  for (let i = 0; i < g.rows * g.cols; i++) {
    const x0 = g.gap + (i % g.cols) * (g.cellWidth + g.gap);
    const y0 = g.gap + Math.floor(i / g.cols) * (g.cellHeight + g.gap);
    const data = new Uint8Array(g.cellWidth * g.cellHeight * 3);
    for (let y = 0; y < g.cellHeight; y++) {
      const src = ((y0 + y) * grid.width + x0) * 3;
      data.set(grid.data.subarray(src, src + g.cellWidth * 3), y * g.cellWidth * 3);
    }
    cells.push({ width: g.cellWidth, height: g.cellHeight, data });
  }
  return cells;
}

/**
 * Infers the geometry of a grid with no sidecar, given rows x cols (`--grid 6x10`): the gap is
 * whatever makes the cells whole and equal, tried from 0 up.
 */
export function inferGeometry(width: number, height: number, rows: number, cols: number): GridGeometry | null {
  for (let gap = 0; gap <= 8; gap++) {
    const cw = (width - (cols + 1) * gap) / cols;
    const ch = (height - (rows + 1) * gap) / rows;
    if (Number.isInteger(cw) && Number.isInteger(ch) && cw > 0 && ch > 0) {
      return { rows, cols, cellWidth: cw, cellHeight: ch, gap };
    }
  }
  return null;
}
