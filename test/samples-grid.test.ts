import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { composeGrid, gridSize, inferGeometry, splitGrid, type GridGeometry } from '../src/core/images/grid.js';
import { encodePng } from '../src/core/images/decode.js';
import { loadImage, parseGridSpec } from '../src/features/scoring/scan.js';
import { UserError } from '../src/core/errors.js';
import { flatImage } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const GEOMETRIES: [string, GridGeometry][] = [
  ['6x10, gap 2 (dcgan default)', { rows: 6, cols: 10, cellWidth: 8, cellHeight: 12, gap: 2 }],
  ['gap 0', { rows: 3, cols: 4, cellWidth: 5, cellHeight: 7, gap: 0 }],
  ['1x1', { rows: 1, cols: 1, cellWidth: 9, cellHeight: 13, gap: 1 }],
  ['7x3, non-square cells', { rows: 7, cols: 3, cellWidth: 5, cellHeight: 9, gap: 2 }],
  ['wide cells', { rows: 2, cols: 5, cellWidth: 11, cellHeight: 3, gap: 2 }],
];

/** Every cell gets a distinct colour from its index, so a shifted cut shows up. */
const cellsFor = (g: GridGeometry) =>
  Array.from({ length: g.rows * g.cols }, (_, i) =>
    flatImage(g.cellWidth, g.cellHeight, [(i * 53) % 256, (i * 97 + 10) % 256, (i * 11 + 200) % 256]),
  );

for (const [name, g] of GEOMETRIES) {
  test(`grid ${name}: composed → PNG → decoded → split gives back every poster exactly`, async () => {
    const dir = await tempDir('grid');
    try {
      const cells = cellsFor(g);
      const file = path.join(dir, 'grid.png');
      await fs.writeFile(file, await encodePng(composeGrid(cells, g, 255)));
      const img = await loadImage(file);
      assert.deepEqual({ width: img.width, height: img.height }, gridSize(g));
      const back = splitGrid(img, g);
      assert.equal(back.length, g.rows * g.cols);
      back.forEach((c, i) => {
        assert.equal(c.width, g.cellWidth);
        assert.equal(c.height, g.cellHeight);
        assert.deepEqual(Buffer.from(c.data), Buffer.from(cells[i]!.data), `cell ${i}`);
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
}

test('--grid fallback: inferGeometry recovers unambiguous geometries from size and RxC', () => {
  for (const [, g] of GEOMETRIES) {
    const { width, height } = gridSize(g);
    const got = inferGeometry(width, height, g.rows, g.cols);
    assert.ok(got, `${g.rows}x${g.cols} ${width}x${height}`);
    // Gap 0 and a small gap can both fit; the cut must at least tile the image exactly.
    assert.deepEqual(gridSize(got), { width, height });
  }
  assert.deepEqual(inferGeometry(23, 79, 7, 3), { rows: 7, cols: 3, cellWidth: 5, cellHeight: 9, gap: 2 });
  assert.equal(inferGeometry(10, 50, 1, 7), null); // 10 px cannot hold 7 equal columns with any gap
});

test('parseGridSpec reads ROWSxCOLS and refuses anything else with one line', () => {
  assert.deepEqual(parseGridSpec('6x10'), { rows: 6, cols: 10 });
  assert.deepEqual(parseGridSpec('7X3'), { rows: 7, cols: 3 });
  for (const bad of ['6', '0x3', '6x', 'ax3', '6x10x2']) {
    assert.throws(
      () => parseGridSpec(bad),
      (e: unknown) => e instanceof UserError && /--grid takes ROWSxCOLS/.test((e as Error).message),
      bad,
    );
  }
});
