/**
 * The PyTorch reference, run in the same benchmark run on the same machine (absolute figures
 * move 10-30% between runs on shared machines, ratios much less): ../shared/bench/torch_*.py
 * through Debian's /usr/bin/python3. Absent python3-torch gives null figures, not a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/bench → the repository root is two levels up; the shared scripts sit beside the repository. */
export const TORCH_DIR = process.env.POSTER_STUDIO_TORCH_BENCH ?? path.resolve(here, '../../../shared/bench');
export const PYTHON = process.env.POSTER_STUDIO_PYTHON ?? '/usr/bin/python3';

export type TorchResult = { ok: true; row: Record<string, unknown>; warning?: string } | { ok: false; reason: string };

export function torchAvailable(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  if (!existsSync(path.join(TORCH_DIR, 'torch_dcgan.py')))
    return { ok: false, reason: `torch scripts not found in ${TORCH_DIR}` };
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0)
    return {
      ok: false,
      reason: 'python3-torch is not installed (apt-get install -y python3-torch libopenblas0-pthread)',
    };
  return { ok: true };
}

/** Runs one reference script and returns its JSON line. */
export function runTorch(script: 'torch_dcgan.py' | 'torch_classifier.py', args: (string | number)[]): TorchResult {
  const avail = torchAvailable();
  if (!avail.ok) return avail;
  const r = spawnSync(PYTHON, [path.join(TORCH_DIR, script), ...args.map(String)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0)
    return { ok: false, reason: `${script} exited ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}` };
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) return { ok: false, reason: `${script} printed no JSON line` };
  const warning = (r.stderr || '').split('\n').find((l) => l.startsWith('warning:'));
  return { ok: true, row: JSON.parse(line) as Record<string, unknown>, ...(warning ? { warning } : {}) };
}
