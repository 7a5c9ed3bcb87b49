/**
 * A tiny MovieGenre.csv + poster directory for classifier tests: each genre has a colour, a
 * poster is the mean colour of its genres plus seeded noise, so a model can learn something in
 * one epoch. One file named like a poster is not an image.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDirSync } from './temp-dir.js';
import sharp from 'sharp';
import { createRng } from '../../src/core/random.js';

const COLOURS: Record<string, [number, number, number]> = {
  Comedy: [250, 220, 40],
  Drama: [60, 60, 140],
  Action: [220, 60, 20],
  Animation: [40, 200, 90],
  Romance: [240, 120, 180],
  Adventure: [120, 200, 230],
  Horror: [30, 10, 10],
};
const NAMES = Object.keys(COLOURS);

export interface ClassifierFixture {
  dir: string;
  csv: string;
  posters: string;
  broken: string;
}

export async function makeClassifierFixture(count = 84, seed = 3): Promise<ClassifierFixture> {
  const dir = tempDirSync('clf-fixture-');
  const posters = path.join(dir, 'posters');
  mkdirSync(posters);
  const rng = createRng(seed, 'fixture');
  const rows = ['imdbId,Imdb Link,Title,IMDB Score,Genre,Poster'];
  for (let id = 1; id <= count; id++) {
    const g = [NAMES[id % NAMES.length]!];
    if (rng.next() < 0.4) g.push(NAMES[(id * 3 + 1) % NAMES.length]!);
    const genres = [...new Set(g)];
    const year = 1960 + (id % 50);
    const score = id % 3 === 0 ? (5 + (id % 40) / 10).toFixed(1) : '';
    rows.push(
      `${id},http://www.imdb.com/title/tt${String(id).padStart(7, '0')},Movie ${id} (${year}),${score},${genres.join('|')},`,
    );
    const [w, h] = [36, 54];
    const px = Buffer.alloc(w * h * 3);
    const c = [0, 1, 2].map((ch) => genres.reduce((a, x) => a + COLOURS[x]![ch]!, 0) / genres.length);
    for (let i = 0; i < w * h; i++)
      for (let ch = 0; ch < 3; ch++) px[i * 3 + ch] = Math.max(0, Math.min(255, c[ch]! + (rng.next() - 0.5) * 60));
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg()
      .toFile(path.join(posters, `${id}.jpg`));
  }
  writeFileSync(path.join(dir, 'MovieGenre.csv'), rows.join('\n') + '\n', 'latin1');
  const broken = path.join(dir, 'broken.jpg');
  writeFileSync(broken, 'not a jpeg at all');
  return { dir, csv: path.join(dir, 'MovieGenre.csv'), posters, broken };
}
