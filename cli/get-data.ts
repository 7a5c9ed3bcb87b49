#!/usr/bin/env node
import { runSingle } from './single.js';

await runSingle('get-data');
