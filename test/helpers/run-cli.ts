/**
 * Runs one of the project's bins as a child process and captures what a user would see: exit
 * code, signal, stdout, stderr. A timeout kills the child (SIGKILL) so a hung command fails its
 * test instead of the whole suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './shared-data.js';

export const POSTER_STUDIO = path.join(REPO_ROOT, 'dist/cli/poster-studio.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Extra node flags before the script (e.g. --import a preload module). */
  nodeArgs?: string[];
}

/** Starts the bin without waiting: for tests that kill it. */
export function startCli(args: readonly string[], o: RunOptions = {}, bin = POSTER_STUDIO): ChildProcess {
  return spawn(process.execPath, [...(o.nodeArgs ?? []), bin, ...args], {
    cwd: o.cwd ?? REPO_ROOT,
    // CI=1 keeps progress output line-based; the backend is the fastest present unless a test says.
    env: { ...process.env, CI: '1', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a started child's output until it exits. */
export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

export function runCli(args: readonly string[], o: RunOptions = {}, bin = POSTER_STUDIO): Promise<CliResult> {
  return collect(startCli(args, o, bin), o.timeoutMs ?? 120_000);
}

/** The `error:` lines of stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error:'));
}

/** True when stderr carries a JavaScript stack frame (what a user must never see). */
export function hasStackTrace(stderr: string): boolean {
  return /^\s+at .+[:(]/m.test(stderr);
}

/**
 * A small synthetic poster set and its prepare-dcgan output under `root`, made with the real
 * commands: the starting point of the suites that kill or starve those commands.
 */
export async function synthAndPrepare(
  root: string,
  count: number,
  seed: number,
): Promise<{ csv: string; posters: string; prepared: string }> {
  const syn = path.join(root, 'syn');
  const s = await runCli(['synth', '--output', syn, '--count', String(count), '--seed', String(seed)]);
  if (s.code !== 0) throw new Error(`synth failed: ${s.stderr}`);
  const csv = path.join(syn, 'MovieGenre.csv');
  const posters = path.join(syn, 'posters');
  const prepared = path.join(root, 'prepared');
  const p = await runCli(['prepare-dcgan', '--csv', csv, '--input', posters, '--output', prepared, '--ratio', '30']);
  if (p.code !== 0) throw new Error(`prepare-dcgan failed: ${p.stderr}`);
  return { csv, posters, prepared };
}
