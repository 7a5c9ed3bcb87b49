/**
 * Frames (PNG files, in order) to an H.264 MP4 with fluent-ffmpeg. Frames are staged as a
 * numbered sequence in a temp directory (with the caption burned in when asked) and the video
 * is written under a temp name and renamed, so a killed render never leaves a torn train.mp4.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import sharp from 'sharp';
import { UserError } from '../../core/errors.js';
import { tempPathFor } from '../../core/fs/atomic.js';
import { checkFile, claimFile } from '../../core/fs/ownership.js';
import { encodePng, MAX_INPUT_PIXELS, readImageFile, type RgbImage } from '../../core/images/decode.js';
import { captionScale, withCaption } from './caption.js';
import { requireFfmpeg } from './ffmpeg.js';

export interface RenderOptions {
  frames: readonly string[];
  output: string;
  /** Length of the video in seconds; the frame rate is frames / seconds, within [minFps, maxFps]. */
  seconds: number;
  /** Output size (even numbers); the frame is scaled to fit and padded. Default: the frame size, made even. */
  resolution?: { width: number; height: number } | null;
  /** One caption per frame (burned below the frame), or none. */
  captions?: readonly string[] | null;
  minFps?: number;
  maxFps?: number;
  /** Called with the percentage ffmpeg reports. */
  onProgress?: (percent: number) => void;
}

export interface RenderResult {
  output: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  ffmpeg: string;
}

const even = (n: number): number => n + (n % 2);

/** 'WxH' with even sides, as --render_res takes it. */
export function parseResolution(flag: string, raw: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(raw.trim());
  const w = m ? Number(m[1]) : NaN;
  const h = m ? Number(m[2]) : NaN;
  if (!m || w < 16 || h < 16 || w > 7680 || h > 4320 || w % 2 || h % 2) {
    throw new UserError(
      `--${flag} takes WIDTHxHEIGHT with even sides from 16x16 to 7680x4320 (H.264 yuv420p needs even sizes), got '${raw}'`,
    );
  }
  return { width: w, height: h };
}

export function frameRate(frames: number, seconds: number, minFps = 1, maxFps = 60): number {
  return Math.min(maxFps, Math.max(minFps, frames / seconds));
}

/** libvips' messages ('vipspng: libpng read error') do not say which of many grids is broken. */
function unreadableFrame(file: string, err: unknown): UserError {
  const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new UserError(`${file}: cannot decode this grid image (${why}); delete or replace it and re-run`);
}

async function readRgb(file: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(await readImageFile(file), { limitInputPixels: MAX_INPUT_PIXELS })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw unreadableFrame(file, err);
  }
}

export async function renderVideo(o: RenderOptions): Promise<RenderResult> {
  if (o.frames.length === 0) throw new UserError('no frames to render');
  const ff = requireFfmpeg();
  const outDir = path.dirname(path.resolve(o.output));
  await checkFile(o.output, '--output');
  const stage = await fs.mkdtemp(path.join(outDir, `.render-${process.pid}-`));
  const tmpOut = tempPathFor(o.output);
  try {
    let size: { width: number; height: number } | null = null;
    let scale = 1;
    if (o.captions) {
      const first = await readImageFile(o.frames[0]!)
        .then((bytes) => sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata())
        .catch((err: unknown) => {
          throw unreadableFrame(o.frames[0]!, err);
        });
      const longest = o.captions.reduce((a, c) => (c.length > a.length ? c : a), '');
      scale = captionScale(longest, first.width ?? 0);
    }
    for (let i = 0; i < o.frames.length; i++) {
      let img = await readRgb(o.frames[i]!);
      if (size && (img.width !== size.width || img.height !== size.height)) {
        throw new UserError(
          `${o.frames[i]} is ${img.width}x${img.height} but the first frame is ${size.width}x${size.height}; render grids of one run at a time`,
        );
      }
      size ??= { width: img.width, height: img.height };
      if (o.captions) img = withCaption(img, o.captions[i] ?? '', scale);
      await fs.writeFile(path.join(stage, `frame_${String(i + 1).padStart(6, '0')}.png`), await encodePng(img));
    }
    const first = await sharp(path.join(stage, 'frame_000001.png')).metadata();
    const target = o.resolution ?? { width: even(first.width!), height: even(first.height!) };
    const fps = frameRate(o.frames.length, o.seconds, o.minFps, o.maxFps);
    // Fit inside the target, then pad to exactly its (even) size: yuv420p needs even sides.
    const vf = `scale=${target.width}:${target.height}:force_original_aspect_ratio=decrease:flags=lanczos,pad=${target.width}:${target.height}:(ow-iw)/2:(oh-ih)/2`;
    await new Promise<void>((resolve, reject) => {
      ffmpeg()
        .setFfmpegPath(ff.path)
        .input(path.join(stage, 'frame_%06d.png'))
        .inputOptions(['-framerate', fps.toFixed(6)])
        .videoCodec('libx264')
        .outputOptions([
          '-vf',
          vf,
          '-pix_fmt',
          'yuv420p',
          '-crf',
          '18',
          '-preset',
          'medium',
          '-movflags',
          '+faststart',
          '-r',
          fps.toFixed(6),
          '-f',
          'mp4',
        ])
        .output(tmpOut)
        .on('progress', (p: { percent?: number }) => o.onProgress?.(p.percent ?? 0))
        .on('end', () => resolve())
        .on('error', (err: Error, _out: string | null, stderr: string | null) => {
          reject(
            new Error(
              `ffmpeg failed: ${err.message.split('\n')[0]}${stderr ? ` (${stderr.trim().split('\n').pop()})` : ''}`,
            ),
          );
        })
        .run();
    });
    await claimFile(o.output, '--output');
    await fs.rename(tmpOut, o.output);
    return {
      output: o.output,
      frames: o.frames.length,
      fps,
      width: target.width,
      height: target.height,
      ffmpeg: ff.path,
    };
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
    await fs.rm(tmpOut, { force: true });
  }
}
