/**
 * Entry of the tfjs-suite bundle: the environment first (ES modules run in import order), then
 * every test file tfjs-core ships (its dist/tests.js imports all of them).
 */
import './tfjs-suite-env.js';
import '@tensorflow/tfjs-core/dist/tests.js';
