/**
 * Finding ffmpeg: FFMPEG_PATH, then ffmpeg-static, then @ffmpeg-installer/ffmpeg (ships its
 * binary inside the package), then the PATH. npm 11 skips install scripts it was not told to
 * trust, so a packaged binary may lack its execute bit: we set it ourselves when we can.
 */
import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../../core/errors.js';

export interface FfmpegLocation {
  path: string;
  source: 'FFMPEG_PATH' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'PATH';
}

const require = createRequire(import.meta.url);

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A packaged binary that lost its x bit (skipped postinstall) is made executable if we own it. */
function ensureExecutable(p: string): boolean {
  if (executable(p)) return true;
  try {
    chmodSync(p, statSync(p).mode | 0o755);
  } catch {
    return false;
  }
  return executable(p);
}

function fromPackage(name: 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg'): string | null {
  try {
    const mod = require(name) as string | { path?: string } | null;
    const p = typeof mod === 'string' ? mod : mod?.path;
    return p && isFile(p) && ensureExecutable(p) ? p : null;
  } catch {
    return null;
  }
}

function fromPath(): string | null {
  const names = process.platform === 'win32' ? ['ffmpeg.exe'] : ['ffmpeg'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const n of names) {
      const p = path.join(dir, n);
      if (isFile(p) && executable(p)) return p;
    }
  }
  return null;
}

let cached: FfmpegLocation | null = null;

export function findFfmpeg(): FfmpegLocation | null {
  if (cached) return cached;
  const env = process.env.FFMPEG_PATH;
  if (env) {
    // An explicit FFMPEG_PATH that is wrong is a user error, not a reason to pick another binary.
    if (!existsSync(env) || !isFile(env))
      throw new UserError(`FFMPEG_PATH=${env} does not exist; point it at an ffmpeg binary or unset it`);
    if (!ensureExecutable(env)) throw new UserError(`FFMPEG_PATH=${env} is not executable`);
    return (cached = { path: env, source: 'FFMPEG_PATH' });
  }
  const stat = fromPackage('ffmpeg-static');
  if (stat) return (cached = { path: stat, source: 'ffmpeg-static' });
  const inst = fromPackage('@ffmpeg-installer/ffmpeg');
  if (inst) return (cached = { path: inst, source: '@ffmpeg-installer/ffmpeg' });
  const onPath = fromPath();
  if (onPath) return (cached = { path: onPath, source: 'PATH' });
  return null;
}

export function requireFfmpeg(): FfmpegLocation {
  const f = findFfmpeg();
  if (!f) {
    throw new UserError(
      'ffmpeg not found: set FFMPEG_PATH, run npm install @ffmpeg-installer/ffmpeg, or install ffmpeg on the PATH (apt-get install ffmpeg)',
    );
  }
  return f;
}
