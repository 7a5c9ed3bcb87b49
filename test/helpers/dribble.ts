import type { ServerResponse } from 'node:http';

/** Sends body in `pieces` chunks 100 ms apart, so a client can be killed in the middle of it. */
export function dribble(res: ServerResponse, body: Buffer, pieces: number): void {
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
  let sent = 0;
  const step = Math.ceil(body.length / pieces);
  const t = setInterval(() => {
    res.write(body.subarray(sent, sent + step));
    sent += step;
    if (sent >= body.length) {
      clearInterval(t);
      res.end();
    }
  }, 100);
  res.on('close', () => clearInterval(t));
}
