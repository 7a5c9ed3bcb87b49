/**
 * Generators for the inputs users really feed the studio: broken and unusual images, CSVs in the
 * wrong shape or encoding, and helpers to prove that nothing already written changed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { OWNED_LIST } from '../../src/core/fs/ownership.js';

export const CSV_HEADER = 'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster';

/** A whole baseline JPEG of one colour with a little texture (so it is not trivially tiny). */
export async function goodJpeg(width = 40, height = 60, shade = 100): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    px[i * 3] = (shade + i) % 256;
    px[i * 3 + 1] = (shade * 3 + (i >> 3)) % 256;
    px[i * 3 + 2] = 255 - shade;
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The first 40% of a JPEG: header and part of the scan, no end-of-image marker. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await goodJpeg(80, 120, 60);
  return whole.subarray(0, Math.floor(whole.length * 0.4));
}

export const zeroByte = (): Buffer => Buffer.alloc(0);

export const notAnImage = (): Buffer => Buffer.from('<html><body>404 poster not found</body></html>\n');

export async function pngNamedJpg(): Promise<Buffer> {
  return sharp(await goodJpeg(40, 60, 30))
    .png()
    .toBuffer();
}

export async function grayscaleJpeg(): Promise<Buffer> {
  return sharp(await goodJpeg(40, 60, 150))
    .grayscale()
    .jpeg()
    .toBuffer();
}

export async function cmykJpeg(): Promise<Buffer> {
  return sharp(await goodJpeg(40, 60, 200))
    .toColourspace('cmyk')
    .jpeg()
    .toBuffer();
}

export async function onePixelJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 10, g: 200, b: 30 } } })
    .jpeg()
    .toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A valid side x side PNG of one colour, built by hand as 1-bit grayscale so it is ~15 KB and
 * takes milliseconds to make; a decoder that expands it to RGB would need side*side*3 bytes
 * (300 MB at 10000), which is what the commands must refuse or avoid.
 */
export function hugeOneColourPng(side = 10_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const rowBytes = 1 + Math.ceil(side / 8);
  const raw = Buffer.alloc(rowBytes * side, 0); // filter 0, all pixels black
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface CsvRow {
  id: number;
  title: string;
  genres: string;
  score?: string;
  poster?: string;
}

export function csvLine(r: CsvRow): string {
  const title = /[",]/.test(r.title) ? `"${r.title.replace(/"/g, '""')}"` : r.title;
  return `${r.id},http://www.imdb.com/title/tt${String(r.id).padStart(7, '0')},${title},${r.score ?? ''},${r.genres},${r.poster ?? ''}`;
}

/** Writes a MovieGenre.csv (latin-1 like Kaggle's unless told) and returns its path. */
export function writeCsv(
  file: string,
  rows: readonly CsvRow[],
  encoding: BufferEncoding = 'latin1',
  header = CSV_HEADER,
): string {
  writeFileSync(file, [header, ...rows.map(csvLine)].join('\n') + '\n', encoding);
  return file;
}

/**
 * sha256 of every file under dir (relative path -> hash); temp names included, so leftovers show.
 * The ownership list (.poster-studio-owned) is left out: it grows by design with every file written.
 */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      if (n === OWNED_LIST) continue;
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Entries of `before` that are missing or different in `after` (files written earlier and lost). */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
}

/** Names that look like leftovers of an interrupted write. */
export function tempLeftovers(files: Iterable<string>): string[] {
  return [...files].filter((f) =>
    /(^|\/)\.[^/]*\.tmp$|\.tmp-\d+(\/|$)|\.part$|\.partial$|(^|\/)[^/]+\.old(\/|$)/.test(f),
  );
}
