/**
 * The trained models the package ships, so a fresh install works with no training:
 * <package>/models/default/classifier (a `classifier train` directory) and
 * <package>/models/default/generator (a `dcgan export` directory, or any `dcgan train` checkpoint directory). They are found from
 * this module's own location, not the working directory, so `npx poster-studio` finds them from
 * anywhere. A flag the user gives always wins; with neither, the caller gets one line to print.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { METADATA_FILE } from './classifier-model.js';

/** The package's root: the nearest folder above this module with a package.json (dist/ or source). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = packageRoot();
export const SHIPPED_MODELS = path.join(PACKAGE_ROOT, 'models', 'default');

export type ShippedKind = 'classifier' | 'generator';

/** Where the shipped model of a kind lives, whether or not it is there yet. */
export const shippedPath = (kind: ShippedKind, root = SHIPPED_MODELS): string => path.join(root, kind);

/** The shipped model's directory when it is complete on disk, else null. */
export function shippedModel(kind: ShippedKind, root = SHIPPED_MODELS): string | null {
  const dir = shippedPath(kind, root);
  const needs = kind === 'classifier' ? ['model.json', METADATA_FILE] : ['state.json', 'tensors.bin'];
  return needs.every((f) => existsSync(path.join(dir, f))) ? dir : null;
}

export interface ModelChoice {
  dir: string;
  /** Where it came from, for the one line that says so: the flag, or the shipped default. */
  source: string;
}

/** The user's flag, else the shipped default, else null with `missing` saying what to pass. */
export function chooseModel(
  kind: ShippedKind,
  given: string | undefined,
  flag: string,
  root = SHIPPED_MODELS,
): ModelChoice | { dir: null; missing: string } {
  if (given) return { dir: given, source: flag };
  const shipped = shippedModel(kind, root);
  if (shipped) return { dir: shipped, source: 'the shipped default' };
  return {
    dir: null,
    missing: `no default ${kind} is shipped in ${shippedPath(kind, root)} yet and ${flag} was not given`,
  };
}
