/**
 * The studio page as a person uses it, in Debian's Chromium (headless, driven by playwright-core
 * with the system executable: nothing downloaded): pick a genre and a decade, generate, find the
 * posters drawn; open one's neighbours and interpolation strip; upload a poster and find the
 * genre bars and the saliency overlay; slide through a run's grids; switch tabs with the
 * keyboard. Any console error (a CSP violation is one) fails the test. Screenshots of each tab
 * are kept in POSTER_STUDIO_SCREENSHOTS when it is set.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadClassifier } from '../src/artifacts/classifier-model.js';
import { startServer, type RunningServer } from '../src/features/serve/server.js';
import { openGenerator, type PosterGenerator } from '../dcgan/generate.js';
import {
  makeServeFixture,
  removeServeFixture,
  SERVE_CLASSIFIER_NAME,
  type ServeFixture,
} from './helpers/serve-fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

let fx: ServeFixture;
let server: RunningServer;
let gen: PosterGenerator;
let browser: Browser;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM}: install it with 'apt-get update && apt-get install -y chromium' (or set CHROMIUM_PATH)`,
  );
  fx = await makeServeFixture();
  gen = await openGenerator(fx.checkpoint, 'moving');
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    maxUploadBytes: 5_000_000,
    maxWaiting: 8,
    models: { classifier: await loadClassifier(fx.modelDir), generator: gen, heads: null, samplesDir: fx.samples },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  gen?.dispose();
  if (fx) await removeServeFixture(fx);
});

async function shot(page: Page, name: string): Promise<void> {
  const file = path.join(fx.root, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok((await fs.stat(file)).size > 5000, `${name} screenshot was taken`);
  const keep = process.env.POSTER_STUDIO_SCREENSHOTS;
  if (keep) {
    await fs.mkdir(keep, { recursive: true });
    await fs.copyFile(file, path.join(keep, `${name}.png`));
  }
}

/** How many images in `selector` have decoded with a non-zero size. */
const drawn = (page: Page, selector: string) =>
  page.$$eval(selector, (imgs) => (imgs as HTMLImageElement[]).filter((i) => i.complete && i.naturalWidth > 0).length);

test(
  'headless Chromium: generate a Horror poster of the 1980s, explore it, classify an upload, browse the run',
  { timeout: 120_000 },
  async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    // The header names the models as a person knows them, not by their folders.
    assert.equal(
      await page.textContent('#models'),
      `generator: conditional 16x24, iteration 0 (samples/checkpoints/ckpt_000000) · classifier: ${SERVE_CLASSIFIER_NAME} (3 genres)`,
    );

    // Generate
    await page.check('#genres input[value="Horror"]');
    await page.selectOption('#decade', '1980');
    await page.fill('#seed', '42');
    await page.fill('#count', '6');
    await page.click('#gen-go');
    await page.waitForFunction(() => document.querySelectorAll('#posters img').length === 6);
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('#posters img')].every((i) => i.complete && i.naturalWidth > 0),
    );
    assert.equal(await drawn(page, '#posters img'), 6, 'six posters drawn');
    const names = await page.$$eval('#posters a[download]', (as) => as.map((a) => a.getAttribute('download')));
    assert.equal(names[0], 'poster_seed-42_n-1_Horror_1980s.png');
    const tops = await page.$$eval('#posters .top', (ds) => ds.map((d) => d.textContent));
    assert.match(tops[0]!, /^(Action|Drama|Comedy) \d+%/, "the classifier's top genres under each poster");
    await page.click('#posters .poster button');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#neighbours img').length === 6 &&
        document.querySelectorAll('#interp img').length === 8,
    );
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('#detail img')].every((i) => i.complete && i.naturalWidth > 0),
    );
    await shot(page, 'serve-generate');

    // Classify, reached with the keyboard: the tab list answers arrow keys.
    await page.focus('#tab-generate');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('#tab-classify', 'aria-selected'), 'true');
    assert.equal(await page.isVisible('#classify'), true);
    await page.setInputFiles('#file', { name: 'my poster.jpg', mimeType: 'image/jpeg', buffer: fx.poster });
    await page.waitForFunction(() => document.querySelectorAll('#bars .bar').length === 3);
    const bars = await page.$$eval('#bars .bar .name', (ns) => ns.map((n) => n.textContent));
    assert.deepEqual([...bars].sort(), ['Action', 'Comedy', 'Drama']);
    const thr = await page.$eval('#bars .bar .thr', (t) => (t as HTMLElement).style.left);
    assert.equal(thr, '50%', 'the threshold marker sits at the tuned threshold');
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('#saliency');
      return !!i && i.complete && i.naturalWidth > 0 && !document.querySelector('#sal-fig')!.hasAttribute('hidden');
    });
    assert.equal(await page.textContent('#preview-name'), 'my poster.jpg');
    await shot(page, 'serve-classify');

    // Runs
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('#tab-runs', 'aria-selected'), 'true');
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('#grid-img');
      return !!i && i.complete && i.naturalWidth > 0 && !!document.querySelector('#run-losses svg');
    });
    assert.equal(await page.textContent('#grid-label'), 'iteration 30');
    await page.focus('#grid-slider');
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.querySelector('#grid-label')!.textContent === 'iteration 10');
    assert.ok((await page.$$('#run-losses svg path.series')).length >= 2, 'the loss chart has both curves');
    assert.ok((await page.$$('#run-quality svg')).length >= 3, 'the sample-quality charts (eval.json, kid.csv)');
    await shot(page, 'serve-runs');

    assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
    await page.close();
  },
);
