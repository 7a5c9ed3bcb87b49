/**
 * Backend choice: the best engine available, or the one asked for with --backend or
 * POSTER_STUDIO_BACKEND. One line on stderr says which one runs.
 */
import { createRequire } from 'node:module';
import { UserError } from '../cli/errors.js';
import { defineFlags } from '../cli/flags.js';
import { tf } from './tf.js';

export const BACKENDS = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The --backend flag, shared by every command that trains or infers. */
export const backendFlags = defineFlags({
  backend: {
    kind: 'string',
    choices: BACKENDS,
    default: 'auto',
    arg: 'name',
    help: 'compute engine: auto picks the fastest installed (tensorflow = tfjs-node(-gpu), native = the project\'s CPU kernels); env POSTER_STUDIO_BACKEND',
  },
});

const require = createRequire(import.meta.url);

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}

const INSTALL_HINT: Record<string, string> = {
  tensorflow: 'npm install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu with CUDA); it downloads libtensorflow at install time',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm',
  native: "run 'npm rebuild poster-studio' (needs g++, make, python3)",
};

async function activate(name: Exclude<BackendName, 'auto'>): Promise<boolean> {
  switch (name) {
    case 'tensorflow':
      if (!(tryRequire('@tensorflow/tfjs-node-gpu') || tryRequire('@tensorflow/tfjs-node'))) return false;
      return tf.setBackend('tensorflow');
    case 'wasm': {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
      } catch {
        return false;
      }
      return tf.setBackend('wasm');
    }
    case 'native':
      // Registered by the engine module when its addon loads; absent until then.
      return tf.findBackendFactory('native') !== null && tf.setBackend('native');
    case 'cpu': {
      const ok = await tf.setBackend('cpu');
      // The cpu backend greets Node users with a banner on first use; we already said which backend runs.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return ok;
    }
  }
}

let chosen: string | null = null;

/** Selects and announces the backend; safe to call more than once. */
export async function initBackend(requested?: string, quiet = false): Promise<string> {
  const want = (requested ?? process.env.POSTER_STUDIO_BACKEND ?? 'auto') as BackendName;
  if (!BACKENDS.includes(want)) {
    throw new UserError(`--backend takes one of ${BACKENDS.join(', ')}, got '${want}'`);
  }
  if (chosen && (want === 'auto' || want === chosen)) return chosen;
  const order: Exclude<BackendName, 'auto'>[] = want === 'auto' ? ['tensorflow', 'native', 'cpu'] : [want];
  for (const name of order) {
    if (await activate(name)) {
      chosen = name;
      if (!quiet) process.stderr.write(`backend: ${name}\n`);
      return name;
    }
  }
  throw new UserError(`backend '${want}' is not available; ${INSTALL_HINT[want] ?? 'choose another --backend'}`);
}
