/**
 * Backend choice: the best engine available, or the one asked for with --backend or
 * POSTER_STUDIO_BACKEND. One line on stderr says which one runs (and, when the native kernels
 * could not load, one line saying so and which fallback runs instead).
 */
import { createRequire } from 'node:module';
import { UserError } from '../src/core/errors.js';
import { tf } from './tf.js';

export const BACKENDS = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

export const BACKEND_ENV = 'POSTER_STUDIO_BACKEND';

/** Fastest first: tfjs-node(-gpu) > the project's native kernels > wasm (with our gradient kernels) > pure JS. */
export const AUTO_ORDER: readonly ConcreteBackend[] = ['tensorflow', 'native', 'wasm', 'cpu'];

export const INSTALL_HINT: Record<ConcreteBackend, string> = {
  tensorflow:
    'install it with `npm install @tensorflow/tfjs-node` (or `@tensorflow/tfjs-node-gpu` on a CUDA machine); both download libtensorflow at install time',
  native: 'rebuild it with `npm rebuild poster-studio` (needs g++, make and python3)',
  wasm: 'install it with `npm install @tensorflow/tfjs-backend-wasm`',
  cpu: 'reinstall @tensorflow/tfjs (`npm install`)',
};

/** Which backend was asked for and by whom: an explicit flag beats the environment, which beats auto. */
export function resolveRequest(
  flag: string | undefined,
  env: string | undefined = process.env[BACKEND_ENV],
): { want: BackendName; source: string } {
  const check = (value: string, source: string): { want: BackendName; source: string } => {
    const v = value.trim().toLowerCase();
    if (!(BACKENDS as readonly string[]).includes(v)) {
      throw new UserError(`${source} takes one of ${BACKENDS.join(', ')}, got '${value}'`);
    }
    return { want: v as BackendName, source };
  };
  if (flag !== undefined && flag !== '' && flag !== 'auto') return check(flag, '--backend');
  if (env !== undefined && env.trim() !== '') return check(env, BACKEND_ENV);
  return { want: 'auto', source: 'default' };
}

/** Outcome of trying one backend: on, or why not (reason shown to the user). */
export type Probe = { ok: true; detail?: string } | { ok: false; reason: string };
export type Probes = Record<ConcreteBackend, () => Promise<Probe>>;

export interface Selection {
  name: ConcreteBackend;
  /** Lines for stderr: any fallback notes, then `backend: ...`. */
  lines: string[];
}

/**
 * Tries the requested backend, or each of AUTO_ORDER; pure apart from the probes, so tests can
 * drive it. tfjs-node's absence is the normal case and stays silent; a native addon that failed
 * to build or load is worth one line, since it costs the user most of the speed.
 */
export async function selectBackend(want: BackendName, probes: Probes, source = '--backend'): Promise<Selection> {
  if (want !== 'auto') {
    const p = await probes[want]();
    if (!p.ok) {
      throw new UserError(
        `backend '${want}' (from ${source}) is not available: ${p.reason}; ${INSTALL_HINT[want]}, or choose another --backend (${BACKENDS.join(', ')})`,
      );
    }
    return { name: want, lines: [announce(want, p.detail)] };
  }
  const lines: string[] = [];
  let nativeFailure: string | null = null;
  for (const name of AUTO_ORDER) {
    const p = await probes[name]();
    if (p.ok) {
      if (nativeFailure !== null) lines.push(fallbackLine(nativeFailure, name));
      lines.push(announce(name, p.detail));
      return { name, lines };
    }
    if (name === 'native') nativeFailure = p.reason;
  }
  throw new UserError(`no TensorFlow.js backend could start; ${INSTALL_HINT.cpu}`);
}

export const announce = (name: ConcreteBackend, detail?: string): string =>
  `backend: ${name}${detail ? ` (${detail})` : ''}`;

export const fallbackLine = (reason: string, next: ConcreteBackend): string =>
  `native kernels unavailable (${reason}); falling back to ${next}, which is several times slower`;

const require = createRequire(import.meta.url);

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}

/** The real probes: each one imports (lazily) and activates its backend. */
export const realProbes: Probes = {
  async tensorflow() {
    const pkg = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].find(tryRequire);
    if (!pkg) return { ok: false, reason: 'neither @tensorflow/tfjs-node nor @tensorflow/tfjs-node-gpu is installed' };
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: `${pkg} did not initialise` };
    return { ok: true, detail: pkg.replace('@tensorflow/', '') };
  },
  async native() {
    let status: { ok: true; simd: string; threads: number } | { ok: false; reason: string };
    try {
      // Dynamic so that a broken native module (or none) leaves the other backends usable.
      const mod = (await import('./native/backend.js')) as { registerNativeBackend(): typeof status };
      status = mod.registerNativeBackend();
    } catch (err) {
      return { ok: false, reason: `cannot load the native backend module: ${(err as Error).message.split('\n')[0]}` };
    }
    // A SIMD path the user forced and this CPU lacks is their error, not a reason to fall back.
    if (!status.ok && status.reason.startsWith('POSTER_STUDIO_SIMD=')) throw new UserError(status.reason);
    if (!status.ok) return { ok: false, reason: status.reason };
    if (!(await tf.setBackend('native'))) return { ok: false, reason: 'the native backend did not initialise' };
    return { ok: true, detail: `${status.simd}, ${status.threads} thread${status.threads === 1 ? '' : 's'}` };
  },
  async wasm() {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } catch {
      return { ok: false, reason: '@tensorflow/tfjs-backend-wasm is not installed' };
    }
    try {
      // The stock wasm backend cannot train a convnet; ours adds the missing gradient kernels.
      const { registerWasmTrainingKernels } = await import('./wasm/register.js');
      registerWasmTrainingKernels();
      if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend did not initialise' };
    } catch (err) {
      return { ok: false, reason: `the wasm backend did not initialise: ${(err as Error).message.split('\n')[0]}` };
    }
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return { ok: true, detail: `${simd ? 'SIMD' : 'no SIMD'}, 1 thread` };
  },
  async cpu() {
    if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'the cpu backend did not initialise' };
    // The cpu backend greets Node users with a banner on first use; we already said which backend runs.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    return { ok: true, detail: 'pure JavaScript, slow' };
  },
};

let chosen: ConcreteBackend | null = null;

/**
 * Selects and announces the backend; safe to call more than once (a later call that asks for
 * nothing in particular keeps the first choice). `requested` is the --backend flag's value.
 */
export async function initBackend(requested?: string, quiet = false): Promise<string> {
  const { want, source } = resolveRequest(requested);
  if (chosen && (want === 'auto' || want === chosen)) {
    if (tf.getBackend() !== chosen) await tf.setBackend(chosen);
    return chosen;
  }
  const sel = await selectBackend(want, realProbes, source);
  chosen = sel.name;
  if (!quiet) for (const line of sel.lines) process.stderr.write(`${line}\n`);
  return sel.name;
}
