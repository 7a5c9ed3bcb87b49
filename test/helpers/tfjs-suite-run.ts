/**
 * Child process of test/tfjs-suite.test.ts: runs the bundle of tfjs-core's own tests on one of
 * our backends (native on one SIMD path, or wasm with our kernels) and writes what happened to a
 * JSON file. A process per run: jasmine runs once per process, and each run needs a fresh engine.
 *
 *   node tfjs-suite-run.js <bundle.cjs> <result.json> '<RunOptions as JSON>'
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { initBackend } from '../../engine/index.js';
import { nativeAddon } from '../../engine/native/backend.js';

export interface RunOptions {
  backend: 'native' | 'wasm';
  /** The native SIMD path to run on (the addon's setSimd). */
  simd?: string;
  /** Only the specs whose full name matches this regular expression (the others are 'excluded'). */
  filter?: string;
}

export interface SpecOutcome {
  name: string;
  status: string;
  /** First line of each failed expectation (and the error of a throwing spec). */
  messages: string[];
}

export interface SuiteRun {
  specs: SpecOutcome[];
  /** Errors outside any spec: a beforeAll/afterAll or a file that failed to load. */
  suiteErrors: string[];
  overallStatus: string;
  incompleteReason: string | null;
  seconds: number;
}

interface JasmineResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

interface JasmineRunner {
  exitOnCompletion: boolean;
  jasmine: { DEFAULT_TIMEOUT_INTERVAL: number };
  loadConfig(config: { spec_files: string[]; random: boolean }): void;
  clearReporters(): void;
  addReporter(reporter: Record<string, (result: never) => void>): void;
  execute(files?: string[], filter?: string): Promise<{ overallStatus: string; incompleteReason?: string }>;
}

const firstLines = (r: JasmineResult): string[] =>
  r.failedExpectations.map((e) => e.message.split('\n')[0]!.slice(0, 500));

async function main(): Promise<void> {
  const [bundle, resultFile, options] = process.argv.slice(2);
  if (!bundle || !resultFile || !options)
    throw new Error("usage: tfjs-suite-run.js <bundle> <result.json> '<options as JSON>'");
  const { backend, simd, filter } = JSON.parse(options) as RunOptions;
  // The product's own probe: the backend exactly as `--backend native|wasm` starts it.
  await initBackend(backend, true);
  if (simd !== undefined) {
    const addon = nativeAddon()!;
    addon.setSimd(simd);
    if (addon.info().simd !== simd) throw new Error(`the addon runs '${addon.info().simd}', not '${simd}'`);
  }
  (globalThis as { tfjsSuiteBackend?: string }).tfjsSuiteBackend = backend;

  const Jasmine = createRequire(import.meta.url)('jasmine') as new (options: {
    projectBaseDir: string;
  }) => JasmineRunner;
  const runner = new Jasmine({ projectBaseDir: dirname(bundle) });
  runner.exitOnCompletion = false;
  // jasmine's 5 s default is too short for tfjs's larger specs on a loaded 2-core machine.
  runner.jasmine.DEFAULT_TIMEOUT_INTERVAL = 120_000;
  runner.loadConfig({ spec_files: [basename(bundle)], random: false });
  const specs: SpecOutcome[] = [];
  const suiteErrors: string[] = [];
  runner.clearReporters();
  runner.addReporter({
    specDone: (r: JasmineResult) =>
      specs.push({ name: r.fullName, status: r.status, messages: r.status === 'failed' ? firstLines(r) : [] }),
    suiteDone: (r: JasmineResult) => suiteErrors.push(...firstLines(r).map((m) => `${r.fullName}: ${m}`)),
    jasmineDone: (r: JasmineResult) => suiteErrors.push(...firstLines(r)),
  });
  const t0 = performance.now();
  const done = await runner.execute(undefined, filter);
  const run: SuiteRun = {
    specs,
    suiteErrors,
    overallStatus: done.overallStatus,
    incompleteReason: done.incompleteReason ?? null,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(resultFile, JSON.stringify(run));
}

await main();
