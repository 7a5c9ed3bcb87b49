import { defineFlags } from '../src/core/flags.js';
import { BACKEND_ENV, BACKENDS } from '../engine/index.js';

/** The --backend flag, shared by every command that trains or infers. */
export const backendFlags = defineFlags({
  backend: {
    kind: 'string',
    choices: BACKENDS,
    default: 'auto',
    arg: 'name',
    help: `compute engine: auto picks the fastest installed (tensorflow = tfjs-node(-gpu) > native = the project's CPU kernels > wasm > cpu); when auto, env ${BACKEND_ENV} decides`,
  },
});
