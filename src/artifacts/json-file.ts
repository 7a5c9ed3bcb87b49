/** The start every JSON artifact reader shares: the parsed file, or null when it does not exist. */
import { promises as fs } from 'node:fs';

/** Parsed JSON of `file`; null when there is no such file; one line naming the file when it is not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: not readable JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Throws the one-line error of a reader: the file and the field that is missing or malformed. */
export function fieldError(file: string, field: string): never {
  throw new Error(`${file}: "${field}" is missing or malformed`);
}
