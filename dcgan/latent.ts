/**
 * Latent vectors and conditions. Each iteration's z comes from its own seeded stream
 * (seed, iteration) and each epoch's order from (seed, epoch), so a resumed run draws exactly
 * what an uninterrupted one would without carrying generator states around.
 */
import { createRng } from '../src/core/random.js';
import type { ConditionVocab } from './config.js';

/** carpedm20 draws z uniformly from [-1, 1]. */
export function uniformLatent(seed: number, purpose: string, count: number, zDim: number): Float32Array {
  const rng = createRng(seed, purpose);
  const out = new Float32Array(count * zDim);
  for (let i = 0; i < out.length; i++) out[i] = rng.next() * 2 - 1;
  return out;
}

export const iterationLatent = (seed: number, iteration: number, count: number, zDim: number): Float32Array =>
  uniformLatent(seed, `z:${iteration}`, count, zDim);

export const fixedLatent = (seed: number, count: number, zDim: number): Float32Array =>
  uniformLatent(seed, 'fixed_z', count, zDim);

export function epochOrder(seed: number, epoch: number, size: number): number[] {
  return createRng(seed, `shuffle:${epoch}`).shuffle(Array.from({ length: size }, (_, i) => i));
}

export interface CellCondition {
  genres: string[];
  decade: number | null;
}

/**
 * Conditions of the fixed sample grid: each row one genre, each column one decade (both cycle),
 * so a conditional grid reads as a genre x decade table.
 */
export function gridConditions(vocab: ConditionVocab, rows: number, cols: number): CellCondition[] {
  const cells: CellCondition[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const genre = vocab.genres.length ? vocab.genres[r % vocab.genres.length]! : null;
      const decade = vocab.decades.length ? vocab.decades[c % vocab.decades.length]! : null;
      cells.push({ genres: genre ? [genre] : [], decade });
    }
  }
  return cells;
}
