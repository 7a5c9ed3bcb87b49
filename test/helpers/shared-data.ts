/**
 * The real posters live beside the repo in ../shared/data/movie-genre (CI has them). Tests that
 * need them call requireSharedData(t): absent data is said clearly, as a skip with the path.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const REPO_ROOT = repoRoot;
export const SHARED_DATA = path.resolve(repoRoot, '../shared/data/movie-genre');
export const SHARED_CSV = path.join(SHARED_DATA, 'MovieGenre.csv');
export const SHARED_POSTERS = path.join(SHARED_DATA, 'posters');

export const hasSharedData = existsSync(SHARED_CSV) && existsSync(SHARED_POSTERS);

/** Message for test options: `{ skip: sharedDataMissing }`. */
export const sharedDataMissing: string | false = hasSharedData
  ? false
  : `real posters not found at ${SHARED_DATA} (clone ../shared beside the repo to run this test)`;
