#!/usr/bin/env node
// Builds the native training engine (binding.gyp → build/Release/poster_studio_native.node) at
// `npm install`. Never fails the install: without the addon the studio runs on a slower backend,
// so a failed build prints why in one line (plus the compiler's last words) and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FALLBACK = 'the studio will fall back to a slower backend (wasm/cpu)';

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp, // npm sets this for lifecycle scripts
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally: fine, npm bundles one
  }
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

function main() {
  if (process.env.POSTER_STUDIO_SKIP_NATIVE === '1') {
    console.log(`poster-studio: native engine build skipped (POSTER_STUDIO_SKIP_NATIVE=1); ${FALLBACK}`);
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    console.log(`poster-studio: native engine unavailable (node-gyp not found); ${FALLBACK}`);
    return;
  }
  const args = [gyp, 'rebuild', '--release', '--jobs=max'];
  // Outside npm, point node-gyp at the headers installed with this Node so it never downloads them.
  const localNodedir = resolve(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(localNodedir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${localNodedir}`);
  }
  const started = Date.now();
  // make -k: a target that fails (the optional JPEG decoder) does not stop the others from building.
  const env = { ...process.env, MAKEFLAGS: `${process.env.MAKEFLAGS ?? ''} -k`.trim() };
  // Generous: the AMX and AVX-512 units take minutes on a busy 2-core machine, and a timeout here
  // leaves the studio on a slow fallback for good (the limit only guards against a hung compiler).
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 1_800_000, env });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  // Each target says for itself whether it built (its .node file exists): a failed build names
  // exactly which one, with the compiler errors that mention its sources.
  const failed = TARGETS.filter((t) => t.expected() && !existsSync(join(root, 'build', 'Release', `${t.name}.node`)));
  const why = (t) => {
    if (r.error) return r.error.message;
    const own = out.filter((l) => /error/i.test(l) && t.sources.some((src) => l.includes(src)));
    return (
      (own.length ? own : out.filter((l) => /error/i.test(l))).slice(-3).join(' | ') ||
      `node-gyp exited with ${r.status}`
    );
  };
  if (failed.length) console.log(out.slice(-15).join('\n'));
  for (const t of TARGETS) {
    if (!t.expected()) continue;
    const file = join(root, 'build', 'Release', `${t.name}.node`);
    if (failed.includes(t))
      console.log(
        `poster-studio: ${t.what} unavailable (target ${t.name} failed to build: ${why(t).slice(0, 300)}); ${t.fallback}`,
      );
    else console.log(`poster-studio: ${t.what} built in ${seconds} s (${file})`);
  }
}

// The addons binding.gyp builds; the JPEG decoder only where the libjpeg headers are (as binding.gyp decides).
const TARGETS = [
  {
    name: 'poster_studio_native',
    what: 'native engine',
    sources: ['engine/native/'],
    fallback: FALLBACK,
    expected: () => true,
  },
  {
    name: 'poster_studio_jpeg',
    what: 'optional native JPEG decoder',
    sources: ['jpeg_resize'],
    fallback: 'data preparation decodes posters with sharp instead (slower); the native engine is not affected',
    expected: () => ['/usr/include/jpeglib.h', '/usr/local/include/jpeglib.h'].some((f) => existsSync(f)),
  },
];

try {
  main();
} catch (err) {
  console.log(
    `poster-studio: native engine unavailable (${err instanceof Error ? err.message : String(err)}); ${FALLBACK}`,
  );
}
process.exit(0);
