#!/usr/bin/env node
import { runSingle } from './single.js';

await runSingle('prepare-dcgan');
