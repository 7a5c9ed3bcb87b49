import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../src/core/errors.js';
import { OWNED_LIST } from '../src/core/fs/ownership.js';
import { encodePng } from '../src/core/images/decode.js';
import { captionHeight, renderCaption, withCaption } from '../src/features/video/caption.js';
import { findFfmpeg } from '../src/features/video/ffmpeg.js';
import { parseFfmpegProbe, probeVideo } from '../src/features/video/probe.js';
import { frameRate, parseResolution, renderVideo } from '../src/features/video/render.js';
import { tempDir } from './helpers/temp-dir.js';

async function frames(dir: string, n: number, width: number, height: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(width * height * 3).fill(40 * i);
    const f = path.join(dir, `grid_${String(i).padStart(6, '0')}.png`);
    await fs.writeFile(f, await encodePng({ width, height, data }));
    files.push(f);
  }
  return files;
}

test('ffmpeg is found (FFMPEG_PATH, ffmpeg-static, @ffmpeg-installer/ffmpeg or PATH)', () => {
  const f = findFfmpeg();
  assert.ok(f, 'no ffmpeg found');
});

test('video has one frame per grid and even dimensions; captions sit below the grid', async () => {
  const dir = await tempDir('video-');
  const files = await frames(dir, 5, 51, 33);
  const out = path.join(dir, 'train.mp4');
  const r = await renderVideo({
    frames: files,
    output: out,
    seconds: 1,
    captions: files.map((_, i) => `iteration ${i * 100}`),
  });
  assert.equal(r.fps, 5);
  const info = await probeVideo(out);
  assert.equal(info.frames, 5);
  assert.equal(info.codec, 'h264');
  assert.equal(info.pixelFormat, 'yuv420p');
  // 51 wide -> 52; 33 + caption strip (scale 1 for this width) -> even.
  assert.equal(info.width, 52);
  const h = 33 + captionHeight(1);
  assert.equal(info.height, h + (h % 2));
  // Hidden names other than the ownership list would be temp files or frame folders.
  const leftovers = (await fs.readdir(dir)).filter((n) => n.startsWith('.') && n !== OWNED_LIST);
  assert.deepEqual(leftovers, [], 'no temp files or frame directories left');
});

test('--render_res scales and pads to the requested size; --video_length sets the frame rate', async () => {
  const dir = await tempDir('video-res-');
  const files = await frames(dir, 4, 40, 30);
  const out = path.join(dir, 'v.mp4');
  await renderVideo({ frames: files, output: out, seconds: 2, resolution: { width: 128, height: 72 } });
  const info = await probeVideo(out);
  assert.deepEqual([info.frames, info.width, info.height], [4, 128, 72]);
  assert.equal(frameRate(600, 10), 60);
  assert.equal(frameRate(3, 10), 1, 'at least 1 fps');
  assert.equal(frameRate(120, 10), 12);
});

test('frames of different sizes are refused with the file named', async () => {
  const dir = await tempDir('video-mixed-');
  const a = await frames(dir, 1, 20, 20);
  const b = await frames(await tempDir('video-mixed2-'), 2, 22, 20);
  await assert.rejects(
    renderVideo({ frames: [...a, b[1]!], output: path.join(dir, 'x.mp4'), seconds: 1 }),
    (e: unknown) => e instanceof UserError && /is 22x20 but the first frame is 20x20/.test(e.message),
  );
});

test('render_res needs WIDTHxHEIGHT with even sides', () => {
  assert.deepEqual(parseResolution('render_res', '1280x720'), { width: 1280, height: 720 });
  for (const bad of ['1280', '1281x720', 'axb', '8x8'])
    assert.throws(() => parseResolution('render_res', bad), /--render_res takes WIDTHxHEIGHT/);
});

test('the caption font draws white pixels only where there is text', () => {
  const blank = renderCaption('   ', 40, 1);
  assert.ok(blank.data.every((v) => v === 0));
  const cap = renderCaption('iteration 100', 100, 1);
  assert.ok(cap.data.some((v) => v === 255));
  const img = withCaption({ width: 100, height: 10, data: new Uint8Array(3000).fill(9) }, 'epoch 3', 2);
  assert.equal(img.height, 10 + captionHeight(2));
  assert.equal(img.data[0], 9);
});

test('ffmpeg probe output is parsed for frames, size, codec and pixel format', () => {
  const text =
    "Input #0, mov,mp4 from 'a.mp4':\n    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 652x590, 92 kb/s, 6 fps\nframe=   12 fps=0.0 q=-1.0 Lsize=N/A\n";
  assert.deepEqual(parseFfmpegProbe(text), {
    codec: 'h264',
    pixelFormat: 'yuv420p',
    width: 652,
    height: 590,
    frames: 12,
  });
  assert.equal(parseFfmpegProbe('nothing'), null);
});
