import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

const POSTER_NAME = /^(\d+)\.(jpe?g|png|webp)$/i;

/** Posters are named `<imdbId>.jpg`; an index maps each id to its file. */
export function indexPosters(dir: string): Map<number, string> {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such poster directory; pass --data <dir> or run 'get-data --download'`);
  const out = new Map<number, string>();
  for (const name of readdirSync(dir).sort()) {
    const m = POSTER_NAME.exec(name);
    if (m && !out.has(Number(m[1]))) out.set(Number(m[1]), path.join(dir, name));
  }
  return out;
}
