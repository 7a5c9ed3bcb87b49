/**
 * What poster-studio may delete or overwrite: only files it can prove it wrote. Every folder it
 * writes into gets a list, `.poster-studio-owned`, naming the tool and each file it wrote there;
 * a name is added before its file is written, so a killed run never leaves an unlisted file of
 * ours. Files not on the list are the user's: never removed, never replaced, whatever they are
 * called (a `grid_000100.png` the user put there included). A folder holding such files where a
 * command would write gets one line naming them, and exit 2.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { OUR_TEMP, writeFileAtomic } from './atomic.js';

export const OWNED_LIST = '.poster-studio-owned';
const HEADER =
  '# poster-studio: the files it wrote in this folder, one per line; it removes or replaces no other file here';

export class OwnedDir {
  private names: Set<string>;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    names: Iterable<string>,
    private tornTail: boolean,
  ) {
    this.names = new Set(names);
  }

  /** The folder's list as it is on disk (empty when there is none; the folder need not exist). */
  static async open(dir: string): Promise<OwnedDir> {
    let text = '';
    try {
      text = await fs.readFile(path.join(dir, OWNED_LIST), 'utf8');
    } catch {
      // no list: nothing here is ours
    }
    // A run killed mid-append can leave a last line without its newline: the next append starts
    // on a line of its own, so the cut name never swallows the next one.
    return new OwnedDir(
      dir,
      text.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
      text !== '' && !text.endsWith('\n'),
    );
  }

  owns(name: string): boolean {
    return this.names.has(name);
  }

  /** Records names as ours before their files are written (creates the folder when needed). */
  claim(names: Iterable<string>): Promise<void> {
    const fresh = [...new Set(names)].filter((n) => !this.names.has(n));
    if (!fresh.length) return this.queue.then(() => undefined);
    for (const n of fresh) {
      if (n.includes('\n') || n.includes('/') || n === '' || n === '.' || n === '..')
        throw new Error(`not a file name: ${JSON.stringify(n)}`);
      this.names.add(n);
    }
    const run = this.queue.then(async () => {
      await fs.mkdir(this.dir, { recursive: true });
      const list = path.join(this.dir, OWNED_LIST);
      const head = existsSync(list) ? (this.tornTail ? '\n' : '') : HEADER + '\n';
      this.tornTail = false;
      await fs.appendFile(list, head + fresh.join('\n') + '\n');
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Entries of the folder that `match` and are not ours (what a command would clobber). */
  async foreign(match: RegExp | readonly string[]): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const hit = Array.isArray(match) ? (n: string) => match.includes(n) : (n: string) => (match as RegExp).test(n);
    return entries.filter((n) => hit(n) && !this.names.has(n)).sort();
  }

  /**
   * Removes one of our files (a regular file or a symlink, never a folder). Returns whether
   * something was removed; a name that is not ours is left alone.
   */
  async removeFile(name: string): Promise<boolean> {
    if (!this.names.has(name)) return false;
    const p = path.join(this.dir, name);
    const st = await fs.lstat(p).catch(() => null);
    if (!st || st.isDirectory()) return false;
    await fs.rm(p, { force: true });
    return true;
  }

  /** Drops names from the list (after their files were removed). */
  forget(names: Iterable<string>): Promise<void> {
    const gone = [...names].filter((n) => this.names.delete(n));
    if (!gone.length) return this.queue.then(() => undefined);
    // Re-read first: another OwnedDir of this folder (a video rendered during training) may have
    // listed names since this one was opened.
    const run = this.queue.then(async () => {
      const now = await OwnedDir.open(this.dir);
      const dropped = new Set(gone);
      for (const n of now.names) if (!dropped.has(n)) this.names.add(n);
      await writeFileAtomic(path.join(this.dir, OWNED_LIST), [HEADER, ...this.names].join('\n') + '\n');
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Removes a folder poster-studio made (a checkpoint, a temp folder of one) by the names it put in
 * it, plus its own temp files: never a recursive delete, so a file someone else added survives
 * (and keeps the folder). Returns whether the folder is gone.
 */
export async function removeOurFolder(p: string, files: readonly string[]): Promise<boolean> {
  let names: string[];
  try {
    names = await fs.readdir(p);
  } catch {
    return true;
  }
  for (const n of names) {
    if (!files.includes(n) && !OUR_TEMP.test(n)) continue;
    const st = await fs.lstat(path.join(p, n)).catch(() => null);
    if (st && !st.isDirectory()) await fs.rm(path.join(p, n), { force: true });
  }
  return fs.rmdir(p).then(
    () => true,
    () => false,
  );
}

/** The one line for a folder holding files of someone else where a command would write. */
export function foreignFilesError(
  dir: string,
  names: readonly string[],
  command: string,
  writes: string,
  way: string,
): UserError {
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, ... (${names.length} in all)` : '');
  return new UserError(
    `${dir} holds ${names.length === 1 ? 'a file' : `${names.length} files`} poster-studio did not write (${shown}); ${command} writes ${writes} there and never replaces or deletes files it did not write: ${way}`,
  );
}

/**
 * Refuses an output file that is there and not ours; writes nothing (a command checks its
 * outputs with this before its work, so a refusal or a failure leaves no trace).
 */
export async function checkFile(file: string, flag: string): Promise<OwnedDir> {
  const owned = await OwnedDir.open(path.dirname(path.resolve(file)));
  if (!owned.owns(path.basename(file)) && (await fs.lstat(file).catch(() => null))) {
    throw new UserError(
      `${flag}: ${file} exists and was not written by poster-studio; it is never replaced: move it away or choose another path`,
    );
  }
  return owned;
}

/** checkFile, then records the file as ours (just before it is written). */
export async function claimFile(file: string, flag: string): Promise<void> {
  await (await checkFile(file, flag)).claim([path.basename(file)]);
}

/** claimFile, then an atomic write. */
export async function writeOwnedFile(file: string, data: string | Uint8Array, flag: string): Promise<void> {
  await claimFile(file, flag);
  await writeFileAtomic(file, data);
}
