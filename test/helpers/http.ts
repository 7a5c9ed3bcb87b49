/**
 * Raw HTTP requests for the server tests: node:http sends the path exactly as given (fetch would
 * normalise `/../`), and a test can set any header, including a hostile Host.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): Record<string, unknown>;
}

export function request(
  port: number,
  method: string,
  rawPath: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
  agent?: http.Agent,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: buf,
          json: () => JSON.parse(buf.toString('utf8')) as Record<string, unknown>,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const postJson = (port: number, p: string, v: unknown, agent?: http.Agent): Promise<HttpResult> =>
  request(port, 'POST', p, JSON.stringify(v), { 'Content-Type': 'application/json' }, agent);
