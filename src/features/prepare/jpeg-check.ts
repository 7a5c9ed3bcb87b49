/**
 * A cheap look at a JPEG already on disk, without decoding it: is it whole (SOI at the start,
 * EOI at the end) and what are its size and component count (from the SOF header). Re-runs use
 * this to trust files a previous run finished, at a few microseconds each instead of a decode.
 */
import { open } from 'node:fs/promises';

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Parses the header of complete JPEG bytes; null when it is not a whole JPEG. */
export function parseJpegHeader(bytes: Uint8Array): JpegHeader | null {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  // Encoders may pad after EOI; a truncated file has no EOI near its end.
  let end = n;
  while (end > 2 && bytes[end - 1] === 0x00) end--;
  if (bytes[end - 2] !== 0xff || bytes[end - 1] !== 0xd9) return null;
  let i = 2;
  while (i + 4 <= n) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (SOF_MARKERS.has(marker)) {
      if (i + 10 > n) return null;
      return {
        height: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        width: (bytes[i + 7]! << 8) | bytes[i + 8]!,
        components: bytes[i + 9]!,
      };
    }
    if (marker === 0xda || len < 2) return null;
    i += 2 + len;
  }
  return null;
}

export async function readJpegHeader(file: string): Promise<JpegHeader | null> {
  let handle;
  try {
    handle = await open(file, 'r');
    const bytes = await handle.readFile();
    return parseJpegHeader(bytes);
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
