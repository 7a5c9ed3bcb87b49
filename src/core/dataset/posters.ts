import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

const POSTER_NAME = /^(\d+)\.(jpe?g|png|webp)$/i;

/** Posters are named `<imdbId>.jpg`; an index maps each id to its file. */
export function indexPosters(dir: string): Map<number, string> {
  if (!existsSync(dir))
    throw new UserError(`${dir}: no such poster directory; pass --data <dir> or run 'get-data --download'`);
  const out = new Map<number, string>();
  for (const name of readdirSync(dir).sort()) {
    const m = POSTER_NAME.exec(name);
    const id = m ? Number(m[1]) : NaN;
    // An id past 2^53 would collide with another one as a number: not a poster name.
    if (Number.isSafeInteger(id) && !out.has(id)) out.set(id, path.join(dir, name));
  }
  return out;
}
