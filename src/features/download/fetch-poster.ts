/**
 * One poster over HTTP with Node's fetch (undici): a timeout per attempt, retries with
 * exponential backoff and seeded jitter for what may pass (timeouts, resets, truncated bodies,
 * 5xx, 429), none for what will not (404, a body that is not an image).
 */
import type { Rng } from '../../core/random.js';

/** Why a download failed, grouped for the summary. */
export type FailureKind =
  | 'timeout'
  | 'truncated body'
  | 'connection refused'
  | 'host not found'
  | 'network error'
  | 'not an image'
  | 'bad URL'
  | 'too large'
  | `HTTP ${number}`;

export class DownloadError extends Error {
  constructor(
    readonly kind: FailureKind,
    detail: string,
    readonly retryable: boolean,
  ) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.name = 'DownloadError';
  }
  /** Failures that say the network itself is unreachable, not this one URL. */
  get offline(): boolean {
    return this.kind === 'connection refused' || this.kind === 'host not found' || this.kind === 'network error';
  }
}

export interface FetchOptions {
  timeoutMs: number;
  /** The largest body accepted: a bigger Content-Length is refused unread, a longer stream is cut. */
  maxBytes: number;
  retries: number;
  /** First backoff delay; doubles each retry, plus up to 50% jitter. */
  backoffMs: number;
  rng: Rng;
  /** Called before each retry (for progress or logs). */
  onRetry?: (err: DownloadError, attempt: number) => void;
}

const OFFLINE_CODES: Record<string, FailureKind> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ENETUNREACH: 'network error',
  EHOSTUNREACH: 'network error',
};

/** Maps what fetch throws (TypeError with a cause chain, DOMException on abort) to a kind. */
export function classifyFetchError(err: unknown): DownloadError {
  if (err instanceof DownloadError) return err;
  const e = err as { name?: string; message?: string; cause?: unknown };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new DownloadError('timeout', '', true);
  const chain: { code?: string; message?: string; name?: string }[] = [];
  for (let c: unknown = err; c && typeof c === 'object' && chain.length < 5; c = (c as { cause?: unknown }).cause) {
    chain.push(c as { code?: string; message?: string });
  }
  for (const c of chain) {
    if (c.name === 'TimeoutError' || c.name === 'AbortError') return new DownloadError('timeout', '', true);
    const kind = c.code ? OFFLINE_CODES[c.code] : undefined;
    if (kind) return new DownloadError(kind, c.code!, true);
    if (c.code === 'UND_ERR_SOCKET' || c.message === 'terminated' || c.code === 'ECONNRESET') {
      return new DownloadError('truncated body', 'connection closed early', true);
    }
  }
  const detail = chain
    .map((c) => c.code ?? c.message)
    .filter(Boolean)
    .join(' / ');
  return new DownloadError('network error', detail || String(err), true);
}

/** Reads a body chunk by chunk, stopping as soon as it passes maxBytes (a never-ending body included). */
async function readCapped(res: Response, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new DownloadError('too large', `body passed ${maxBytes} bytes (--max_bytes)`, false);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

async function attempt(url: string, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw classifyFetchError(err);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    throw new DownloadError(`HTTP ${res.status}`, '', retryable);
  }
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError('too large', `Content-Length ${declared} is over ${maxBytes} bytes (--max_bytes)`, false);
  }
  let body: Buffer;
  try {
    body = await readCapped(res, maxBytes);
  } catch (err) {
    throw classifyFetchError(err);
  }
  const encoded = res.headers.get('content-encoding');
  // With a content-encoding, Content-Length counts the compressed bytes, not these.
  if (declared !== null && !encoded && Number(declared) !== body.length) {
    throw new DownloadError('truncated body', `${body.length} of ${declared} bytes`, true);
  }
  return body;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function backoffDelay(retry: number, baseMs: number, rng: Rng): number {
  const d = baseMs * 2 ** retry;
  return Math.round(d + d * 0.5 * rng.next());
}

export async function fetchWithRetry(url: string, o: FetchOptions): Promise<Buffer> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DownloadError('bad URL', url, false);
  }
  // file:, data:, ftp: ... are never fetched: a CSV must not make get-data read local files.
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DownloadError('bad URL', `${parsed.protocol} URLs are not downloaded (only http and https)`, false);
  }
  for (let i = 0; ; i++) {
    try {
      return await attempt(url, o.timeoutMs, o.maxBytes);
    } catch (err) {
      const e = classifyFetchError(err);
      if (!e.retryable || i >= o.retries) throw e;
      o.onRetry?.(e, i + 1);
      await sleep(backoffDelay(i, o.backoffMs, o.rng));
    }
  }
}
