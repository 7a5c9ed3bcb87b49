/**
 * Temporary folders for tests, removed when the test file's process exits (node --test runs each
 * file in a process of its own), pass or fail, so a suite run leaves nothing in the temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDirSync(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  made.push(dir);
  return dir;
}

export async function tempDir(prefix: string): Promise<string> {
  return tempDirSync(prefix);
}
