/**
 * The page's own files, and nothing else: the raw request path is decoded once, any `..`
 * segment, backslash or NUL is refused, and the file's real path (symlinks resolved) must still
 * lie inside the app's folder, so neither `/..%2f..%2fetc/passwd` nor a symlink planted in the
 * folder reaches outside it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HttpError } from './http-error.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

export async function readStatic(root: string, rawPath: string): Promise<StaticFile> {
  const notFound = (): never => {
    throw new HttpError(404, `not found: ${rawPath.slice(0, 200)} (the app serves only its own files)`);
  };
  let rel: string;
  try {
    rel = decodeURIComponent(rawPath === '/' ? '/index.html' : rawPath);
  } catch {
    throw new HttpError(400, `bad path: ${rawPath.slice(0, 200)} is not valid percent-encoding`);
  }
  if (/[\\\0]/.test(rel) || rel.split('/').some((seg) => seg === '..')) notFound();
  const type = TYPES[path.extname(rel).toLowerCase()];
  if (!type) notFound();
  const realRoot = await fs.realpath(root);
  let real: string;
  try {
    real = await fs.realpath(path.join(realRoot, rel));
  } catch {
    return notFound();
  }
  if (!real.startsWith(realRoot + path.sep)) notFound();
  const st = await fs.stat(real);
  if (!st.isFile()) notFound();
  return { body: await fs.readFile(real), type: type! };
}
