/**
 * Frame count and size of a video with ffmpeg alone (ffprobe is not always bundled): a stream
 * copy to the null muxer counts every frame without decoding.
 */
import { execFile } from 'node:child_process';
import { requireFfmpeg } from './ffmpeg.js';

export interface VideoInfo {
  frames: number;
  width: number;
  height: number;
  codec: string;
  pixelFormat: string;
}

export function parseFfmpegProbe(stderr: string): VideoInfo | null {
  const stream = /Stream #0:\d+[^:]*: Video: (\w+)[^,]*, (\w+)[^,]*,[^0-9]*?(\d{2,5})x(\d{2,5})/.exec(stderr);
  const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].pop();
  if (!stream || !frames) return null;
  return {
    codec: stream[1]!,
    pixelFormat: stream[2]!,
    width: Number(stream[3]),
    height: Number(stream[4]),
    frames: Number(frames[1]),
  };
}

export async function probeVideo(file: string): Promise<VideoInfo> {
  const ff = requireFfmpeg();
  const stderr = await new Promise<string>((resolve, reject) => {
    execFile(
      ff.path,
      ['-hide_banner', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'],
      { maxBuffer: 16 << 20 },
      (err, _out, errText) => {
        if (err) reject(new Error(`ffmpeg cannot read ${file}: ${String(errText).trim().split('\n').pop()}`));
        else resolve(String(errText));
      },
    );
  });
  const info = parseFfmpegProbe(stderr);
  if (!info) throw new Error(`cannot read the video stream of ${file} from ffmpeg's output`);
  return info;
}
