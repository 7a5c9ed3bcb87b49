/**
 * The first module of the tfjs-suite bundle (test/tfjs-suite.test.ts builds it): tfjs-core's test
 * files register each of their suites once per test environment known when they load, so the one
 * environment, the backend the runner prepared (tfjs-suite-run.ts), is set here, before them.
 */
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util.js';

// Set by tfjs-suite-run.ts, which loads the bundle after registering that backend.
const backendName = (globalThis as { tfjsSuiteBackend?: unknown }).tfjsSuiteBackend;
if (typeof backendName !== 'string')
  throw new Error('tfjs suite: globalThis.tfjsSuiteBackend names no backend; run the bundle through tfjs-suite-run.js');
// isDataSync: our backends answer dataSync() (the specs that need it run too).
setTestEnvs([{ name: backendName, backendName, flags: {}, isDataSync: true }]);
