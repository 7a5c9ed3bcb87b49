import { constants, type Dirent, promises as fs } from 'node:fs';
import path from 'node:path';
import { isAlive } from './pid.js';

let counter = 0;

/**
 * A temp name in the same directory, so the final rename never crosses file systems. The
 * `ps-<pid>-<n>` part makes it ours beyond doubt: the sweep of leftovers (removeStaleTemps)
 * matches exactly this shape and no other hidden `.tmp` file.
 */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.ps-${process.pid}-${counter++}.tmp`);
}

/** Our temp names (tempPathFor); the pid is the writer's. */
export const OUR_TEMP = /^\..+\.ps-(\d+)-\d+\.tmp$/;

/**
 * Writes a file so that readers see either the old content or the new one, never a torn file:
 * write to a temp name, fsync, rename. A failure removes the temp file and rethrows.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(target);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'w');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Creates `dir` and proves a file can be written in it now, so a long job stops at its start
 * with the file system's reason instead of after its first epoch.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const probe = tempPathFor(path.join(dir, 'write-probe'));
  await fs.writeFile(probe, '');
  await fs.rm(probe, { force: true });
}

/**
 * Why `dir` cannot be written now (e.g. "EACCES: permission denied" for a read-only install), or
 * null when it can: for outputs that are a convenience beside an input, skipped rather than fatal.
 */
export async function unwritableReason(dir: string): Promise<string | null> {
  try {
    await fs.access(dir, constants.W_OK);
    return null;
  } catch (err) {
    return (err as Error).message.split(',')[0]!;
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Removes temp files a killed process left behind: regular files named exactly like
 * tempPathFor's, whose writer is no longer running; never a directory, never recursively.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  let removed = 0;
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const m = OUR_TEMP.exec(e.name);
    if (!m || !e.isFile() || isAlive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, e.name), { force: true });
    removed++;
  }
  return removed;
}
