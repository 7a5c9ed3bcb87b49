/**
 * Every random thing takes a seed: the same seed gives the same split, batches, noise and grids.
 * seedrandom's alea is fast and has a well-studied period; one generator per purpose keeps
 * streams independent (shuffling does not shift the noise).
 */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  normal(): number;
  shuffle<T>(items: T[]): T[];
  /** The generator's state, to resume a stream exactly after a restart. */
  state(): object;
}

export function createRng(seed: number | string, purpose = '', state?: object): Rng {
  // alea accepts a saved state object; its typings only admit `true`.
  const prng = seedrandom.alea(`${seed}:${purpose}`, { state: (state ?? true) as true });
  let spare: number | null = null;
  const rng: Rng = {
    next: () => prng.quick(),
    int: (max) => Math.floor(prng.quick() * max),
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = prng.quick();
      const v = prng.quick();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(prng.quick() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
    state: () => (prng as unknown as { state(): object }).state(),
  };
  return rng;
}
