/**
 * Whole directories on disk (the checkpoints of both models): a reader sees the previous whole
 * directory or the new whole one, never a half-written one, whatever moment a run is killed at.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { removeOurFolder } from './ownership.js';

/** Writes a file and fsyncs it before returning (the rename that publishes it comes later). */
export async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const h = await fs.open(file, 'w');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

export async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    await h.sync().catch(() => undefined);
    await h.close();
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

export interface DirSwap {
  /** Where the directory is published. */
  final: string;
  /** Where it is written first (same parent, so the rename never crosses file systems). */
  tmp: string;
  /** Where a previous `final` waits during the swap; a reader that finds no `final` may look here. */
  old: string;
  /** The names fill writes: the temp and old directories are removed by these names only. */
  files: readonly string[];
  /** Writes the directory's files into `tmp`. */
  fill(tmp: string): Promise<void>;
  /** fsync the new directory and its parent (the DCGAN's checkpoints). */
  sync?: boolean;
}

/**
 * Writes `tmp`, then swaps it in for `final`. A failure while writing removes `tmp` (a full disk
 * must not leave a partial directory behind) and leaves the last good `final` in place. The
 * directories it removes go file by file (o.files), never recursively: a file someone else put
 * in one survives, and keeps it.
 */
export async function replaceDirAtomic(o: DirSwap): Promise<void> {
  await removeOurFolder(o.tmp, o.files);
  await fs.mkdir(o.tmp, { recursive: true });
  try {
    await o.fill(o.tmp);
    if (o.sync) await syncDir(o.tmp);
  } catch (err) {
    await removeOurFolder(o.tmp, o.files).catch(() => undefined);
    throw err;
  }
  await removeOurFolder(o.old, o.files);
  const hadOld = await fs.rename(o.final, o.old).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  await fs.rename(o.tmp, o.final);
  if (hadOld) await removeOurFolder(o.old, o.files);
  if (o.sync) await syncDir(path.dirname(o.final));
}
