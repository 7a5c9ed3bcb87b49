/**
 * One run per output: an exclusive lock file naming its holder (tool, command, pid, host, start
 * time). A lock left by a process that is gone from this host is taken over with a line saying
 * so; a live holder, or one on another host (whose pid this host cannot check), refuses the run.
 *
 * Not proper-lockfile: its locks go stale when their mtime is not refreshed every few seconds,
 * and a training step here holds the event loop for seconds (tf kernels run synchronously), so a
 * busy healthy run would look dead; it also records no pid or host to name the holder with.
 */
import { linkSync, promises as fs, readFileSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempPathFor } from './atomic.js';
import { isAlive } from './pid.js';

export const LOCK_NAME = '.poster-studio.lock';

export interface LockHolder {
  tool: 'poster-studio';
  command: string;
  pid: number;
  host: string;
  started: string;
}

export interface Lock {
  file: string;
  /** Removes the lock (only while it is still ours). */
  release(): Promise<void>;
}

/** The lock of a directory output lives inside it; a file output's lives beside it. */
export function lockPathFor(target: string, kind: 'dir' | 'file'): string {
  return kind === 'dir'
    ? path.join(target, LOCK_NAME)
    : path.join(path.dirname(target), `.${path.basename(target)}${LOCK_NAME}`);
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return h && Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

const describe = (h: LockHolder): string =>
  `poster-studio ${h.command} (pid ${h.pid} on ${h.host}, started ${h.started})`;

/**
 * Takes the lock of `target` or throws a UserError naming the holder. The lock file appears
 * whole or not at all (written under a temp name, then hard-linked into place, which fails when
 * a lock is already there), so a reader never sees a half-written holder.
 */
export async function acquireLock(
  target: string,
  kind: 'dir' | 'file',
  command: string,
  log: (line: string) => void = () => undefined,
): Promise<Lock> {
  const file = lockPathFor(target, kind);
  const made = await fs.mkdir(path.dirname(file), { recursive: true });
  const me: LockHolder = {
    tool: 'poster-studio',
    command,
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
  };
  const tmp = tempPathFor(file);
  await fs.writeFile(tmp, JSON.stringify(me) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
      const holder = readHolder(file);
      if (!holder) {
        throw new UserError(
          `${file} exists but does not name a poster-studio run; if no run is using ${target}, delete that file and re-run`,
        );
      }
      if (holder.host !== me.host || isAlive(holder.pid)) {
        const other = holder.host !== me.host ? `; if that run is gone, delete ${file}` : '';
        throw new UserError(
          `${target} is in use by ${describe(holder)}; wait for it to finish or choose another output${other}`,
        );
      }
      // Moved aside before deleting: of two runs taking over the same stale lock, only one rename succeeds.
      const aside = `${file}.stale-${process.pid}`;
      try {
        await fs.rename(file, aside);
      } catch {
        continue;
      }
      const moved = readHolder(aside);
      if (moved && (moved.pid !== holder.pid || moved.started !== holder.started)) {
        // Another run took the stale lock between our read and our rename: give its lock back.
        try {
          linkSync(aside, file);
        } catch {
          // it is back already, or a third run holds the name: either way it is not ours
        }
        await fs.rm(aside, { force: true });
        continue;
      }
      await fs.rm(aside, { force: true });
      log(`note: took over the lock of ${describe(holder)}, which is no longer running`);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const ours = (): boolean => {
    const h = readHolder(file);
    return h !== null && h.pid === me.pid && h.started === me.started;
  };
  // A process.exit (a second Ctrl-C) skips finally blocks: the lock still goes.
  const onExit = (): void => {
    if (ours()) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);
  return {
    file,
    async release() {
      process.off('exit', onExit);
      onExit();
      // A run refused or failed before writing anything leaves no empty folders it made.
      if (made) {
        for (let d = path.resolve(path.dirname(file)); d.length >= path.resolve(made).length; d = path.dirname(d)) {
          if (
            !(await fs.rmdir(d).then(
              () => true,
              () => false,
            ))
          )
            break;
        }
      }
    },
  };
}

/** Runs `work` holding the locks of `targets` (taken in order, released in reverse). */
export async function withLocks<T>(
  targets: readonly { path: string; kind: 'dir' | 'file' }[],
  command: string,
  work: () => Promise<T>,
  log?: (line: string) => void,
): Promise<T> {
  const held: Lock[] = [];
  try {
    const seen = new Set<string>();
    for (const t of targets) {
      const key = lockPathFor(path.resolve(t.path), t.kind);
      if (seen.has(key)) continue;
      seen.add(key);
      held.push(await acquireLock(t.path, t.kind, command, log ?? ((l) => process.stderr.write(l + '\n'))));
    }
    return await work();
  } finally {
    for (const l of held.reverse()) await l.release();
  }
}
