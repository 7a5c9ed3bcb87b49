/**
 * The report checked as a person would see it: Debian's chromium, headless, opens the file://
 * page with no network; a small script added to a COPY of the page (the report itself has no
 * scripts) waits for the video's metadata and writes what the browser actually rendered into the
 * DOM, which --dump-dom hands back. A screenshot is kept for looking at.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { writeReport } from '../src/features/report/build.js';
import { readModelInfo } from '../src/features/report/inputs.js';
import { openGenreModel } from '../src/artifacts/classifier-model.js';
import { writeFullRun } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const PROBE = `<script>
(function () {
  function report(event) {
    var imgs = Array.prototype.slice.call(document.images);
    var v = document.querySelector('video');
    var out = {
      images: imgs.length,
      broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0); }).map(function (i) { return i.alt; }),
      video: v ? { present: true, width: v.videoWidth, height: v.videoHeight, duration: v.duration, error: v.error ? v.error.code : null, event: event } : { present: false },
      charts: Array.prototype.map.call(document.querySelectorAll('svg.chart'), function (c) {
        var b = c.getBoundingClientRect();
        return { label: c.getAttribute('aria-label'), w: b.width, h: b.height, marks: c.querySelectorAll('path.series, rect, circle').length };
      }),
      sections: Array.prototype.map.call(document.querySelectorAll('section'), function (s) { return [s.id, s.getAttribute('data-available'), s.getBoundingClientRect().height]; })
    };
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    var v = document.querySelector('video');
    if (!v || v.readyState >= 1) return report(v ? 'ready' : 'none');
    var done = false;
    function fin(e) { if (!done) { done = true; report(e); } }
    v.addEventListener('loadedmetadata', function () { fin('loadedmetadata'); });
    v.addEventListener('error', function () { fin('error'); });
    setTimeout(function () { fin('timeout'); }, 8000);
  });
})();
</script>`;

function chromiumArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
}

test(
  'headless Chromium renders the report: every image decodes, the video plays its metadata, charts have marks',
  { timeout: 120_000 },
  async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `chromium not found at ${CHROMIUM}: install it with 'apt-get update && apt-get install -y chromium' (or set CHROMIUM_PATH)`,
    );
    const root = await tempDir('browser');
    const run = promisify(execFile);
    try {
      const fx = await writeFullRun(root, { video: true });
      const out = path.join(root, 'reports/report.html');
      await writeReport({
        samplesDir: fx.samples,
        output: out,
        model: await openGenreModel(fx.modelDir),
        modelNote: '',
        modelInfo: await readModelInfo(fx.modelDir),
        realDir: fx.real,
        realCount: 8,
        saliencyPosters: 2,
        seed: 1,
      });
      const html = await fs.readFile(out, 'utf8');
      const probePage = path.join(root, 'reports/probe.html');
      await fs.writeFile(probePage, html.replace('</body>', `${PROBE}</body>`));

      const { stdout } = await run(
        CHROMIUM,
        [
          ...chromiumArgs(path.join(root, 'profile-dom')),
          '--virtual-time-budget=15000',
          '--dump-dom',
          pathToFileURL(probePage).href,
        ],
        {
          maxBuffer: 64 * 1024 * 1024,
          timeout: 90_000,
        },
      );
      const m = /<pre id="probe">(.*?)<\/pre>/s.exec(stdout);
      assert.ok(m, 'the probe script ran and wrote its results into the DOM');
      const probe = JSON.parse(
        m[1]!
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, '&')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>'),
      ) as {
        images: number;
        broken: string[];
        video: {
          present: boolean;
          width: number;
          height: number;
          duration: number;
          error: number | null;
          event: string;
        };
        charts: { label: string; w: number; h: number; marks: number }[];
        sections: [string, string, number][];
      };
      assert.ok(probe.images >= 4 + 12 + 2 * 4, `images rendered: ${probe.images}`);
      assert.deepEqual(probe.broken, [], 'every image decodes with a non-zero size');
      assert.ok(probe.video.present, 'the video element is there');
      assert.equal(probe.video.error, null, `the video loads (${probe.video.event})`);
      assert.ok(
        probe.video.width > 0 && probe.video.height > 0 && probe.video.duration > 0,
        `video metadata: ${JSON.stringify(probe.video)}`,
      );
      assert.ok(probe.charts.length >= 4, `charts: ${probe.charts.length}`);
      for (const c of probe.charts)
        assert.ok(c.w > 100 && c.h > 50 && c.marks >= 2, `chart ${c.label} is drawn: ${JSON.stringify(c)}`);
      assert.deepEqual(
        probe.sections.map((s) => s[0]),
        ['grids', 'video', 'losses', 'fid', 'quality', 'posters', 'mix', 'metrics', 'saliency'],
      );
      for (const [id, avail, h] of probe.sections)
        assert.ok(avail === 'true' && h > 60, `section ${id} shows (${avail}, ${h}px)`);

      const shot = path.join(root, 'report.png');
      await run(
        CHROMIUM,
        [
          ...chromiumArgs(path.join(root, 'profile-shot')),
          '--window-size=1280,2400',
          `--screenshot=${shot}`,
          pathToFileURL(out).href,
        ],
        { timeout: 90_000 },
      );
      const { default: sharp } = await import('sharp');
      const st = await sharp(shot).stats();
      // A blank or error page is one flat colour; a rendered report has images and text.
      assert.ok(
        st.channels.some((c) => c.stdev > 20),
        `the screenshot is not blank (${st.channels.map((c) => c.stdev.toFixed(1)).join(', ')})`,
      );
      if (process.env.POSTER_STUDIO_KEEP_SCREENSHOT) await fs.copyFile(shot, process.env.POSTER_STUDIO_KEEP_SCREENSHOT);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  },
);
