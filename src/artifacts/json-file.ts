/** The start every JSON artifact reader shares: the parsed file, or null when it does not exist. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Parsed JSON of `file`; null when there is no such file; one line naming the file when it is not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: not readable JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

/**
 * Parsed JSON of a model directory's state file, read only when it is a regular file of at most
 * `maxBytes` (a FIFO or a huge file must not hang or exhaust the reader). Throws a plain Error
 * with the bare reason; the caller names the file and what it was reading.
 */
export async function readBoundedJson(file: string, maxBytes: number): Promise<unknown> {
  const st = await fs.stat(file);
  if (!st.isFile()) throw new Error('not a regular file');
  if (st.size > maxBytes) throw new Error(`${st.size} bytes is too big for a ${path.basename(file)}`);
  return JSON.parse(await fs.readFile(file, 'utf8'));
}

/** Throws the one-line error of a reader: the file and the field that is missing or malformed. */
export function fieldError(file: string, field: string): never {
  throw new Error(`${file}: "${field}" is missing or malformed`);
}
