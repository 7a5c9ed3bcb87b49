/**
 * `poster-studio serve`'s JSON API over real HTTP on 127.0.0.1, with tiny models: generation is
 * reproducible to the byte, uploads are scored, every bad input is a 4xx with a message and the
 * server keeps answering, nothing outside the page's folder is served, and a flood of 200
 * generate requests either finishes or is refused with 503 while memory stays bounded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { loadClassifier } from '../src/artifacts/classifier-model.js';
import { startServer, STATIC_DIR, type RunningServer } from '../src/features/serve/server.js';
import { WorkQueue } from '../src/features/serve/work-queue.js';
import { openGenerator, type PosterGenerator } from '../dcgan/generate.js';
import { headsPredictor } from '../classifier/predict.js';
import {
  makeServeFixture,
  removeServeFixture,
  SERVE_CLASSIFIER_NAME,
  type ServeFixture,
} from './helpers/serve-fixture.js';
import { FAKE_FEATURE_NET, writeFakeVideo } from './helpers/samples-fixture.js';
import { postJson, request } from './helpers/http.js';

const UPLOAD_LIMIT = 300_000;

let fx: ServeFixture;
let server: RunningServer;
let gen: PosterGenerator;
let port: number;
let outside: string;

const pngSize = async (dataUri: string) => {
  const m = await sharp(Buffer.from(dataUri.replace(/^data:image\/png;base64,/, ''), 'base64')).metadata();
  return [m.format, m.width, m.height];
};

/** A PNG that claims 30000x30000 pixels in a few hundred bytes: a decompression bomb's header. */
function bombPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(30001 * 4))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

before(async () => {
  fx = await makeServeFixture();
  // The page's files in a folder of the test's own, with two symlinks planted in it that point out.
  const staticDir = path.join(fx.root, 'static');
  await fs.cp(STATIC_DIR, staticDir, { recursive: true });
  outside = path.join(fx.root, 'secret.css');
  await fs.writeFile(outside, 'body { secret: 1 }');
  await fs.symlink('/etc/passwd', path.join(staticDir, 'passwd.css'));
  await fs.symlink(outside, path.join(staticDir, 'escape.css'));
  await writeFakeVideo(fx.samples, path.join(fx.samples, 'train.mp4'));
  gen = await openGenerator(fx.checkpoint, 'moving');
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    maxUploadBytes: UPLOAD_LIMIT,
    maxWaiting: 4,
    staticDir,
    models: { classifier: await loadClassifier(fx.modelDir), generator: gen, heads: null, samplesDir: fx.samples },
  });
  port = server.port;
});

after(async () => {
  await server?.close();
  gen?.dispose();
  if (fx) await removeServeFixture(fx);
});

describe('serve: the page', () => {
  test('GET / is the page with a strict CSP (no inline code, no other origins)', async () => {
    const r = await request(port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|http/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(
      r.body.toString(),
      /<script>|\son\w+=|https?:\/\//,
      'no inline script, no handler attributes, no external URL',
    );
    const js = await request(port, 'GET', '/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
  });

  test('/api/info names the models and the condition vocabulary', async () => {
    const r = (await request(port, 'GET', '/api/info')).json() as {
      generator: { name: string; condition: { genres: string[]; decades: number[] } };
      classifier: { name: string; genres: string[] };
    };
    // What a person can tell models apart by: the classifier's own name (its folder is "tiny"),
    // the generator's run folder and checkpoint (never this machine's path).
    assert.equal(r.classifier.name, SERVE_CLASSIFIER_NAME);
    assert.equal(r.generator.name, 'samples/checkpoints/ckpt_000000');
    assert.deepEqual(r.generator.condition, { genres: ['Drama', 'Horror', 'Action'], decades: [1970, 1980, 1990] });
    assert.deepEqual(r.classifier.genres, ['Action', 'Drama', 'Comedy']);
  });
});

describe('serve: generate', () => {
  const ask = { count: 3, seed: 5, genres: ['Horror'], decade: 1980 };

  test('count, genre, decade and seed: posters with top genres and names that say how to remake them', async () => {
    const r = await postJson(port, '/api/generate', ask);
    assert.equal(r.status, 200, r.body.toString());
    const j = r.json() as {
      seed: number;
      posters: { png: string; file: string; top: { genre: string; score: number }[]; index: number }[];
    };
    assert.equal(j.seed, 5);
    assert.equal(j.posters.length, 3);
    for (const [i, p] of j.posters.entries()) {
      assert.deepEqual(await pngSize(p.png), ['png', 16, 24]);
      assert.equal(p.file, `poster_seed-5_n-${i + 1}_Horror_1980s.png`);
      assert.equal(p.index, i);
      assert.equal(p.top.length, 3);
      assert.ok(p.top[0]!.score >= p.top[1]!.score && p.top[1]!.score >= p.top[2]!.score, 'top genres sorted by score');
    }
  });

  test('same seed, same bytes; another seed or condition, other posters; poster i does not depend on the count', async () => {
    const a = await postJson(port, '/api/generate', ask);
    const b = await postJson(port, '/api/generate', ask);
    assert.ok(a.body.equals(b.body), 'two identical requests give byte-identical answers');
    const png = (r: typeof a, i: number) => (r.json() as { posters: { png: string }[] }).posters[i]!.png;
    assert.notEqual(png(await postJson(port, '/api/generate', { ...ask, seed: 6 }), 0), png(a, 0));
    assert.notEqual(png(await postJson(port, '/api/generate', { ...ask, genres: ['Drama'] }), 0), png(a, 0));
    assert.notEqual(png(await postJson(port, '/api/generate', { ...ask, decade: 1970 }), 0), png(a, 0));
    assert.equal(png(await postJson(port, '/api/generate', { ...ask, count: 1 }), 0), png(a, 0));
  });

  test('no seed: the server picks one and says which, and that seed remakes the poster', async () => {
    const r = (await postJson(port, '/api/generate', { count: 1 })).json() as {
      seed: number;
      posters: { png: string }[];
    };
    assert.ok(Number.isInteger(r.seed));
    const again = (await postJson(port, '/api/generate', { count: 1, seed: r.seed })).json() as {
      posters: { png: string }[];
    };
    assert.equal(again.posters[0]!.png, r.posters[0]!.png);
  });

  test('neighbours and an interpolation strip whose ends are the two posters', async () => {
    const g = (await postJson(port, '/api/generate', ask)).json() as { posters: { png: string }[] };
    const near = (
      await postJson(port, '/api/neighbours', { seed: 5, index: 1, genres: ['Horror'], decade: 1980, count: 4 })
    ).json() as { posters: { png: string; file: string }[] };
    assert.equal(near.posters.length, 4);
    assert.equal(new Set(near.posters.map((p) => p.png)).size, 4, 'four different neighbours');
    assert.ok(!near.posters.some((p) => p.png === g.posters[1]!.png), 'neighbours are not the poster itself');
    const strip = (
      await postJson(port, '/api/interpolate', {
        from: { seed: 5, index: 0 },
        to: { seed: 5, index: 2 },
        genres: ['Horror'],
        decade: 1980,
        steps: 5,
      })
    ).json() as { posters: { png: string }[] };
    assert.equal(strip.posters.length, 5);
    assert.equal(strip.posters[0]!.png, g.posters[0]!.png);
    assert.equal(strip.posters[4]!.png, g.posters[2]!.png);
  });
});

describe('serve: classify', () => {
  test('an uploaded poster: every genre with score and threshold, and a saliency overlay', async () => {
    const r = await request(port, 'POST', '/api/classify', fx.poster, { 'Content-Type': 'image/jpeg' });
    assert.equal(r.status, 200, r.body.toString());
    const j = r.json() as {
      model: string;
      genres: { genre: string; score: number; threshold: number; predicted: boolean }[];
      year: unknown;
      imdb: unknown;
    };
    assert.deepEqual(
      j.genres.map((g) => g.genre),
      ['Action', 'Drama', 'Comedy'],
    );
    for (const g of j.genres) {
      assert.ok(g.score > 0 && g.score < 1 && g.threshold === 0.5 && g.predicted === g.score >= 0.5, JSON.stringify(g));
    }
    assert.equal(j.year, null, 'the tiny model has no year head');
    assert.equal(j.model, SERVE_CLASSIFIER_NAME);
    const s = await request(port, 'POST', '/api/saliency?genre=Drama', fx.poster);
    assert.equal(s.status, 200, s.body.toString());
    assert.deepEqual(await pngSize((s.json() as { png: string }).png), ['png', 16, 24]);
  });
});

describe('serve: the year and IMDB-score heads', () => {
  test('a classifier whose metadata has a year head: /api/classify gives the year with its validation error', async () => {
    // The tiny classifier's features are the 8 units before its last Dense layer; a head of zero
    // weights answers its bias, so the served value is known exactly.
    const head = { lambda: 1, mean: Array(8).fill(0), std: Array(8).fill(1), weights: Array(8).fill(0), bias: 1987 };
    const heads = headsPredictor({ year: { head, mae: 6.5 }, score: null });
    assert.ok(heads);
    const s2 = await startServer({
      host: '127.0.0.1',
      port: 0,
      maxUploadBytes: UPLOAD_LIMIT,
      maxWaiting: 1,
      models: { classifier: await loadClassifier(fx.modelDir), generator: null, heads, samplesDir: null },
    });
    try {
      const r = await request(s2.port, 'POST', '/api/classify', fx.poster);
      assert.equal(r.status, 200, r.body.toString());
      const j = r.json() as { year: { value: number; mae: number }; imdb: unknown };
      assert.deepEqual(j.year, { value: 1987, mae: 6.5 });
      assert.equal(j.imdb, null);
      const g = await postJson(s2.port, '/api/generate', { count: 1 });
      assert.equal(g.status, 409);
      assert.match((g.json() as { error: string }).error, /no generator is loaded: start serve with --checkpoint/);
      assert.equal((await request(s2.port, 'GET', '/api/run')).status, 409);
    } finally {
      await s2.close();
    }
  });
});

describe('serve: bad input is a 4xx with a message, and the server keeps answering', () => {
  const cases: [string, () => Promise<{ status: number; body: Buffer }>, number[], RegExp][] = [
    [
      'unknown genre',
      () => postJson(port, '/api/generate', { count: 2, genres: ['Western'] }),
      [400],
      /unknown genre "Western"; this model knows Drama, Horror, Action/,
    ],
    ['unknown decade', () => postJson(port, '/api/generate', { count: 2, decade: 1850 }), [400], /unknown decade 1850/],
    [
      'count 0',
      () => postJson(port, '/api/generate', { count: 0 }),
      [400],
      /count must be a whole number from 1 to 32, got 0/,
    ],
    [
      'count 10000',
      () => postJson(port, '/api/generate', { count: 10000 }),
      [400],
      /count must be a whole number from 1 to 32, got 10000/,
    ],
    ['count as text', () => postJson(port, '/api/generate', { count: '3' }), [400], /count must be a whole number/],
    ['negative seed', () => postJson(port, '/api/generate', { count: 1, seed: -1 }), [400], /seed must be/],
    [
      'body not JSON',
      () => request(port, 'POST', '/api/generate', '{count:', { 'Content-Type': 'application/json' }),
      [400],
      /not JSON/,
    ],
    ['GET on a POST route', () => request(port, 'GET', '/api/generate'), [405], /takes POST/],
    ['unknown API route', () => request(port, 'GET', '/api/nope'), [404], /no API route/],
    [
      'truncated JPEG',
      async () => request(port, 'POST', '/api/classify', fx.poster.subarray(0, Math.floor(fx.poster.length * 0.6))),
      [422],
      /the image does not decode \(.*\); is the file complete\?/,
    ],
    [
      'text file',
      () =>
        request(port, 'POST', '/api/classify', 'Title,Genre\nThe Matrix,Action\n', { 'Content-Type': 'text/plain' }),
      [415],
      /not an image/,
    ],
    ['empty upload', () => request(port, 'POST', '/api/classify', Buffer.alloc(0)), [400], /no image/],
    [
      'oversize upload',
      () => request(port, 'POST', '/api/classify', Buffer.alloc(UPLOAD_LIMIT + 1000, 1)),
      [413],
      /too large: the limit is 300000 bytes/,
    ],
    [
      'oversize upload, chunked (no Content-Length)',
      () =>
        request(port, 'POST', '/api/classify', Buffer.alloc(UPLOAD_LIMIT + 1000, 1), {
          'Transfer-Encoding': 'chunked',
        }),
      [413],
      /too large: the limit is 300000 bytes/,
    ],
    [
      'decompression bomb',
      () => request(port, 'POST', '/api/classify', bombPng(), { 'Content-Type': 'image/png' }),
      [413],
      /image too large: more than 40000000 pixels/,
    ],
    [
      'saliency of an unknown genre',
      () => request(port, 'POST', '/api/saliency?genre=Western', fx.poster),
      [400],
      /genre must be one of Action, Drama, Comedy/,
    ],
    ['/../../etc/passwd', () => request(port, 'GET', '/../../etc/passwd'), [404], /not found/],
    ['..%2f encoded', () => request(port, 'GET', '/..%2f..%2f..%2fetc%2fpasswd'), [404], /not found/],
    ['%2e%2e encoded', () => request(port, 'GET', '/%2e%2e/%2e%2e/etc/passwd'), [404], /not found/],
    ['double-encoded', () => request(port, 'GET', '/%252e%252e/%252e%252e/etc/passwd'), [404], /not found/],
    ['backslashes', () => request(port, 'GET', '/..%5c..%5cetc%5cpasswd'), [404], /not found/],
    ['NUL byte', () => request(port, 'GET', '/index.html%00.css'), [404], /not found/],
    ['bad percent-encoding', () => request(port, 'GET', '/%E0%A4%A'), [400], /percent-encoding/],
    ['symlink to /etc/passwd in the static folder', () => request(port, 'GET', '/passwd.css'), [404], /not found/],
    ['symlink to a file outside the static folder', () => request(port, 'GET', '/escape.css'), [404], /not found/],
    [
      'a Host that is not loopback (DNS rebinding)',
      () => request(port, 'GET', '/api/info', undefined, { Host: 'evil.example:80' }),
      [421],
      /answers only requests to 127.0.0.1/,
    ],
  ];
  for (const [name, send, statuses, message] of cases) {
    test(name, async (t) => {
      const r = await send();
      t.diagnostic(`${r.status} ${r.body.toString().slice(0, 160)}`);
      assert.ok(
        statuses.includes(r.status),
        `${name}: status ${r.status}, expected ${statuses.join(' or ')}: ${r.body.toString().slice(0, 200)}`,
      );
      const j = JSON.parse(r.body.toString()) as { error: string };
      assert.match(j.error, message);
      assert.doesNotMatch(
        r.body.toString(),
        /root:|secret: 1|\s+at \S+ \(/,
        'no file content and no stack trace leaked',
      );
      assert.equal((await request(port, 'GET', '/api/info')).status, 200, 'the server still answers');
    });
  }
});

describe('serve: the Runs API', () => {
  test('grids in order, the loss chart, a grid image by position', async () => {
    const r = (await request(port, 'GET', '/api/run')).json() as {
      grids: { iteration: number; url: string }[];
      losses: string;
      quality: string;
      video: string | null;
    };
    assert.deepEqual(
      r.grids.map((g) => g.iteration),
      [10, 20, 30],
    );
    assert.match(r.losses, /^<svg class="chart"/);
    // The report's sample-quality section: the eval curve's network named, its charts drawn.
    assert.ok(r.quality.includes(FAKE_FEATURE_NET), 'the feature network is named');
    assert.match(r.quality, /<svg class="chart" role="img" aria-label="KID over iteration"/);
    assert.match(r.quality, /in-training KID \(kid\.csv\)/);
    assert.equal(r.video, '/api/run/video');
    const g = await request(port, 'GET', r.grids[2]!.url);
    assert.equal(g.status, 200);
    assert.equal((await sharp(g.body).metadata()).format, 'png');
    assert.equal((await request(port, 'GET', '/api/run/grid/3')).status, 404);
  });

  test('the video, whole and by byte range (so the browser can seek)', async () => {
    const file = await fs.readFile(path.join(fx.samples, 'train.mp4'));
    const whole = await request(port, 'GET', '/api/run/video');
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-type'], 'video/mp4');
    assert.ok(whole.body.equals(file));
    const part = await request(port, 'GET', '/api/run/video', undefined, { Range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-199/${file.length}`);
    assert.ok(part.body.equals(file.subarray(100, 200)));
    const past = await request(port, 'GET', '/api/run/video', undefined, { Range: `bytes=${file.length + 10}-` });
    assert.equal(past.status, 416);
  });
});

describe('serve: load', () => {
  test('WorkQueue: one job on the engine at a time, maxWaiting more admitted, the next refused with 503 at once', async () => {
    const q = new WorkQueue(1, 1);
    let release!: () => void;
    const order: string[] = [];
    const first = q.admit((engine) =>
      engine(() => new Promise<void>((r) => (release = r)).then(() => void order.push('first'))),
    );
    const second = q.admit((engine) => engine(async () => void order.push('second')));
    await assert.rejects(
      q.admit(async () => 'third'),
      (e: { status?: number; message?: string }) => e.status === 503 && /busy/.test(e.message ?? ''),
    );
    assert.equal(q.depth, 2);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second'], 'the second waited for the engine');
    assert.equal(q.depth, 0);
    assert.equal(await q.admit(async () => 'again'), 'again', 'admits again once the line is empty');
  });

  test(
    '200 concurrent generate requests finish or get 503; memory stays bounded; the server answers after',
    { timeout: 120_000 },
    async (t) => {
      const agent = new http.Agent({ keepAlive: false, maxSockets: 200 });
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => postJson(port, '/api/generate', { count: 8, seed: i }, agent)),
      );
      clearInterval(sampler);
      agent.destroy();
      const ok = results.filter((r) => r.status === 200).length;
      const busy = results.filter((r) => r.status === 503);
      assert.equal(
        ok + busy.length,
        200,
        `every request finished or was refused: ${[...new Set(results.map((r) => r.status))].join(', ')}`,
      );
      assert.ok(ok >= 1, 'some were served');
      assert.ok(busy.length >= 1, 'a flood past the queue is refused, not queued without bound');
      assert.match((busy[0]!.json() as { error: string }).error, /busy/);
      assert.equal(busy[0]!.headers['retry-after'], '1');
      const grew = (peak - rss0) / 1e6;
      t.diagnostic(
        `${ok} served, ${busy.length} refused with 503; resident memory ${(rss0 / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB`,
      );
      assert.ok(grew < 400, `resident memory grew ${grew.toFixed(0)} MB during the flood`);
      const after = await postJson(port, '/api/generate', { count: 2, seed: 1 });
      assert.equal(after.status, 200, 'the server generates after the flood');
    },
  );
});
