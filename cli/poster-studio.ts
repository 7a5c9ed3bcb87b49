#!/usr/bin/env node
import { createProgram, runProgram } from './program.js';
import { registerAll } from './commands/index.js';

const program = createProgram(
  'poster-studio',
  'Movie-poster studio: genre classifier, DCGAN, scoring and report on one dataset layer',
);
registerAll(program);
await runProgram(program);
