import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The repository root: the nearest directory above this file that holds a package.json. Found at
 * run time rather than as a fixed `../../..` because this file runs both from its source (jest)
 * and built, one level deeper, from dist-testing/libs/testing/src/ (the benchmark).
 */
export const ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/*
 * scripts/ is plain CommonJS that runs before any build, so it is never compiled: load it from
 * ROOT, since a relative import would point into dist-testing/ once this file is built.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const scripts = {
  services: require(
    path.join(ROOT, 'scripts/services.js'),
  ) as typeof import('../../../scripts/services'),
  nginxConfig: require(
    path.join(ROOT, 'scripts/nginx-config.js'),
  ) as typeof import('../../../scripts/nginx-config'),
};
/* eslint-enable @typescript-eslint/no-require-imports */
