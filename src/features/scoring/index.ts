export * from './scan.js';
export * from './score.js';
export * from './format.js';
export * from './classify-samples.js';
