#!/usr/bin/env node
// Marks the package's bins executable after each build. npm sets the bit only when it links a
// bin, and `npx poster-studio` reuses its link of this checkout across rebuilds: a dist/ compiled
// afresh (a new clone in the same place, `rm -rf dist`) would otherwise be "Permission denied".
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin)) {
  const p = join(root, file);
  if (existsSync(p)) chmodSync(p, 0o755);
}
