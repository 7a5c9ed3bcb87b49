/**
 * An exported generator (`dcgan export`): the weights G samples with and nothing else, so a model
 * can be shipped at a fraction of a training checkpoint's size. It is a directory with the same
 * two file names as a checkpoint (state.json, tensors.bin), told apart by state.json's "kind".
 * The weights may be stored as float16; they are always float32 once loaded.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { UserError } from '../src/core/errors.js';
import { readBoundedJson } from '../src/artifacts/json-file.js';
import { tf } from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { checkGeneratorJson } from './checkpoint-check.js';
import { createNetworks, type Networks } from './model.js';
import type { Recipe } from './recipe.js';

export const GENERATOR_KIND = 'poster-studio dcgan generator';
export const GENERATOR_VERSION = 1;
export const DTYPES = { float16: 2, float32: 4 } as const;
export type Dtype = keyof typeof DTYPES;
/** An export's state.json lists G's tensors only: far below this. */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;

export interface GeneratorJson {
  kind: typeof GENERATOR_KIND;
  version: number;
  /** Training iterations behind the weights. */
  iteration: number;
  /** The network and, for a conditional model, its genre and decade vocabulary. */
  config: ModelConfig;
  recipe: Recipe;
  /** Which weights were kept: G's moving average (when the run kept one) or G itself. */
  weights: 'ema' | 'g';
  dtype: Dtype;
  /** The run's sample grid, so the fork's test mode draws the same genre x decade table. */
  grid: { rows: number; cols: number };
  /** Offsets count values of `dtype` into tensors.bin. */
  tensors: { name: string; shape: number[]; offset: number }[];
  /**
   * The training output's folder name and the checkpoint's path inside it (checkpointOrigin); run
   * is absent in exports written before it was recorded, whose checkpoint is an absolute path.
   */
  source: { run?: string; checkpoint: string; tensorsSha256: string };
  exportedAt: string;
}

/** Whether a parsed state.json is an exported generator's (not a training checkpoint's). */
export const isGeneratorJson = (raw: unknown): boolean =>
  !!raw && typeof raw === 'object' && (raw as { kind?: unknown }).kind === GENERATOR_KIND;

/** Whether `dir` holds an exported generator (false for anything else, readable or not). */
export async function isExportedGenerator(dir: string): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, 'state.json'), 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    return isGeneratorJson(JSON.parse(text));
  } catch {
    return false;
  }
}

/** The values of tensors.bin as float32, whatever they are stored as. */
export function decodeValues(bin: Uint8Array, dtype: Dtype): Float32Array {
  const copy = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return dtype === 'float32' ? new Float32Array(copy) : Float32Array.from(new Float16Array(copy));
}

export interface LoadedGenerator {
  json: GeneratorJson;
  /** G's variables under `g`; D is empty (sampling never runs it). */
  net: Networks;
}

/**
 * Reads and checks an exported generator: state.json field by field against tensors.bin's size
 * (checkpoint-check.ts), every tensor's shape against the config, and every value finite.
 */
export async function loadExportedGenerator(dir: string): Promise<LoadedGenerator> {
  const file = path.join(dir, 'state.json');
  let raw: unknown;
  let bin: Buffer;
  try {
    raw = await readBoundedJson(file, MAX_STATE_BYTES);
    bin = await fs.readFile(path.join(dir, 'tensors.bin'));
  } catch (err) {
    throw new UserError(`${file}: cannot read exported generator (${(err as Error).message.split('\n')[0]})`);
  }
  const json = checkGeneratorJson<GeneratorJson>(raw, bin.length, file, GENERATOR_VERSION, DTYPES);
  const all = decodeValues(bin, json.dtype);
  const damaged = (what: string): UserError =>
    new UserError(`${file}: ${what}; the exported generator is damaged (export it again with dcgan export)`);
  const byName = new Map(json.tensors.map((e) => [e.name, e]));
  const net = createNetworks(json.config, 0);
  for (const v of net.d.values()) v.dispose();
  net.d = new Map();
  try {
    if (json.tensors.length !== net.g.size)
      throw damaged(`it holds ${json.tensors.length} tensors, G has ${net.g.size}`);
    for (const [k, v] of net.g) {
      const e = byName.get(`g/${k}`);
      if (!e) throw damaged(`"tensors" has no g/${k}`);
      if (JSON.stringify(e.shape) !== JSON.stringify(v.shape))
        throw damaged(`tensor g/${k} has shape [${e.shape.join(', ')}], the config needs [${v.shape.join(', ')}]`);
      const values = all.subarray(e.offset, e.offset + v.size);
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw damaged(`tensor g/${k} holds ${values[bad]} at value ${bad} (NaN or infinite)`);
      tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
    }
  } catch (err) {
    for (const v of net.g.values()) v.dispose();
    throw err;
  }
  return { json, net };
}
