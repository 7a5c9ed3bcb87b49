/**
 * `poster-studio serve`: the studio as a local web page. node:http is enough for eight routes
 * and keeps every safety rule in plain sight (a framework would add a dependency for routing
 * we do in a switch). Every response carries a strict Content-Security-Policy (scripts and
 * styles only from this server, no inline code), model work goes through one bounded queue,
 * and a server bound to loopback answers only requests addressed to loopback, so a web page
 * elsewhere cannot reach it through DNS rebinding.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ownName } from '../../artifacts/classifier-model.js';
import { PACKAGE_ROOT } from '../../artifacts/default-models.js';
import { classifyUpload, saliencyUpload } from './classify-api.js';
import { generatePosters, interpolatePosters, MAX_COUNT, neighbourPosters } from './generate-api.js';
import { HttpError } from './http-error.js';
import type { StudioModels } from './models.js';
import { runGrid, runSummary, sendVideo } from './run-api.js';
import { readStatic } from './static-files.js';
import { readBody, readJson } from './upload.js';
import { WorkQueue } from './work-queue.js';

export const STATIC_DIR = path.join(PACKAGE_ROOT, 'src', 'features', 'serve', 'static');

export interface ServeOptions {
  host: string;
  port: number;
  models: StudioModels;
  maxUploadBytes: number;
  /** Jobs waiting for the engine before requests get 503. */
  maxWaiting: number;
  /** The page's folder (tests point it elsewhere). */
  staticDir?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

function send(
  res: ServerResponse,
  status: number,
  body: Buffer | string,
  type: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, v: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, JSON.stringify(v), 'application/json; charset=utf-8', { 'Cache-Control': 'no-store', ...extra });

function info(m: StudioModels, maxUploadBytes: number) {
  const g = m.generator;
  const c = m.classifier;
  return {
    generator: g
      ? {
          name: g.name,
          iteration: g.iteration,
          width: g.width,
          height: g.height,
          condition: g.condition,
          maxCount: MAX_COUNT,
        }
      : null,
    classifier: c
      ? { name: ownName(c), genres: c.genres, thresholds: c.thresholds, width: c.width, height: c.height }
      : null,
    run: m.samplesDir,
    maxUploadBytes,
  };
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const queue = new WorkQueue(1, o.maxWaiting);
  const staticDir = o.staticDir ?? STATIC_DIR;
  const m = o.models;
  const loopbackOnly = isLoopback(o.host);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const p = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const method = req.method ?? 'GET';
    if (loopbackOnly) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      if (!isLoopback(host))
        throw new HttpError(
          421,
          `this server answers only requests to 127.0.0.1 or localhost, not ${host.slice(0, 100) || 'no Host'}`,
        );
    }
    const post = (): void => {
      if (method !== 'POST') throw new HttpError(405, `${p} takes POST`, { Allow: 'POST' });
    };
    // Admitted before the body is read; the model work itself waits for the engine.
    const queued = async (prepare: () => Promise<() => Promise<unknown>>): Promise<void> =>
      sendJson(res, 200, await queue.admit(async (engine) => engine(await prepare())));
    if (p.startsWith('/api/')) {
      switch (p) {
        case '/api/info':
          return sendJson(res, 200, info(m, o.maxUploadBytes));
        case '/api/generate':
          post();
          return queued(async () => generatePosters(m, await readJson(req)));
        case '/api/neighbours':
          post();
          return queued(async () => neighbourPosters(m, await readJson(req)));
        case '/api/interpolate':
          post();
          return queued(async () => interpolatePosters(m, await readJson(req)));
        case '/api/classify':
          post();
          return queued(async () => classifyUpload(m, await readBody(req, o.maxUploadBytes)));
        case '/api/saliency':
          post();
          return queued(async () => saliencyUpload(m, await readBody(req, o.maxUploadBytes), params.get('genre')));
        case '/api/run':
          return sendJson(res, 200, await runSummary(m.samplesDir));
        case '/api/run/video':
          return sendVideo(m.samplesDir, req.headers.range, res, SECURITY_HEADERS);
      }
      const grid = /^\/api\/run\/grid\/(\d{1,6})$/.exec(p);
      if (grid)
        return send(res, 200, await runGrid(m.samplesDir, Number(grid[1])), 'image/png', {
          'Cache-Control': 'no-cache',
        });
      throw new HttpError(404, `no API route ${p.slice(0, 100)}; see the README's serve section`);
    }
    if (method !== 'GET' && method !== 'HEAD')
      throw new HttpError(405, `${method} is not allowed on the page's files`, { Allow: 'GET, HEAD' });
    const file = await readStatic(staticDir, p);
    return send(res, 200, file.body, file.type, { 'Cache-Control': 'no-cache' });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message }, err.headers);
      // A bug, not the client's fault: one line in the log, a 500 to the client, the server keeps going.
      process.stderr.write(
        `serve: ${req.method} ${(req.url ?? '').slice(0, 100)}: ${(err as Error)?.message?.split('\n')[0] ?? String(err)}\n`,
      );
      sendJson(res, 500, { error: 'internal error; the server log has one line about it' });
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests in flight get a moment to finish; then their sockets go too.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
