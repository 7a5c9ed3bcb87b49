#!/usr/bin/env node
// Prints the compiler flags of the AMX translation unit (engine/native/amx.cc) for binding.gyp:
// the AMX and AVX-512 BF16 flags when the C++ compiler accepts them, else nothing (amx.cc then
// builds as stubs and the addon reports no AMX). Only that file gets them: the other kernels must
// stay runnable on CPUs without these instructions.
import { spawnSync } from 'node:child_process';

const FLAGS = ['-mamx-tile', '-mamx-bf16', '-mavx512bf16', '-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq'];
const probe = '#include <immintrin.h>\nint main() { _tile_release(); return 0; }\n';
const cxx = process.env.CXX || 'c++';
const r = spawnSync(cxx, [...FLAGS, '-x', 'c++', '-fsyntax-only', '-'], { input: probe, encoding: 'utf8' });
if (process.arch === 'x64' && r.status === 0) console.log(FLAGS.join(' '));
