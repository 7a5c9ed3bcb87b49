/**
 * Request bodies with a size cap, and uploaded images checked before any model sees them:
 * sharp's pixel limit refuses a decompression bomb from its header, and 'truncated' makes a
 * cut-off JPEG an error instead of a half-grey poster. Either way the client gets a 4xx line.
 */
import type { IncomingMessage } from 'node:http';
import sharp, { type Metadata } from 'sharp';
import { MAX_INPUT_PIXELS, type RgbImage } from '../../core/images/decode.js';
import { HttpError } from './http-error.js';

/** The body, or a 413 once it passes `limit` bytes (the rest is drained, never kept). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooBig = () =>
    new HttpError(413, `upload too large: the limit is ${limit} bytes (${(limit / 1e6).toFixed(1)} MB)`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooBig();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 16_384): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new HttpError(400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** An uploaded poster decoded to sRGB at the model's input size; a non-image or bomb is a 4xx. */
export async function decodeUpload(body: Buffer, width: number, height: number): Promise<RgbImage> {
  if (!body.length)
    throw new HttpError(
      400,
      'no image in the request body: send the poster file as the body (PNG, JPEG, WebP, GIF, TIFF, AVIF)',
    );
  let meta: Metadata;
  try {
    meta = await sharp(body, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (err) {
    // sharp reads the size from the header and refuses before decoding anything.
    if (/pixel limit/i.test((err as Error).message))
      throw new HttpError(413, `image too large: more than ${MAX_INPUT_PIXELS} pixels (a decompression bomb?)`);
    throw new HttpError(415, 'not an image: send a PNG, JPEG, WebP, GIF, TIFF or AVIF poster');
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_INPUT_PIXELS) {
    throw new HttpError(
      413,
      `image too large: ${meta.width}x${meta.height} pixels, more than ${MAX_INPUT_PIXELS} pixels`,
    );
  }
  try {
    const { data, info } = await sharp(body, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'truncated' })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new HttpError(
      422,
      `the image does not decode (${(err as Error).message.split('\n')[0]}); is the file complete?`,
    );
  }
}
