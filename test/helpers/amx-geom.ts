/**
 * What the addon-level AMX suites share: the 15 numbers of a convolution geometry by name
 * (engine/native/kernels.h ConvGeom, in its order) and bf16 rounding as the AMX packing does it.
 */
const KEYS = ['N', 'H', 'W', 'C', 'KH', 'KW', 'CO', 'OH', 'OW', 'sh', 'sw', 'pt', 'pl', 'dh', 'dw'] as const;
export type Geom = Record<(typeof KEYS)[number], number>;

export function geomOf(g: readonly number[]): Geom {
  if (g.length !== KEYS.length) throw new Error(`a convolution geometry has ${KEYS.length} numbers, got ${g.length}`);
  return Object.fromEntries(KEYS.map((k, i) => [k, g[i]!])) as Geom;
}

const bits = new DataView(new ArrayBuffer(4));
/** The float32 x rounded to bf16, round to nearest even (finite, normal values). */
export function bf16(x: number): number {
  bits.setFloat32(0, x);
  const u = bits.getUint32(0);
  bits.setUint32(0, (Math.floor((u + 0x7fff + ((u >>> 16) & 1)) / 65536) * 65536) >>> 0);
  return bits.getFloat32(0);
}
