// Types for scripts/system-deps.js, which plain node runs (npm test, npm start, .ci/run) and the
// tests import.

export type SystemPackage = 'nginx' | 'chromium' | 'prometheus' | 'docker-compose';

export type Plan =
  | { action: 'none' }
  /** `after`: commands whose failure is only reported (stopping a service an install started). */
  | { action: 'install'; commands: string[][]; after?: string[][] }
  | { action: 'ask'; line: string };

export const PACKAGES: Record<
  SystemPackage,
  {
    present(env: NodeJS.ProcessEnv): boolean;
    /** Installed with `--no-install-recommends`. */
    noRecommends?: boolean;
    /** Services the package's install may start, stopped and disabled right after it. */
    services?: string[];
  }
>;
export function plan(missing: string[], host: { root: boolean; apt: boolean }): Plan;
export function ensureSystemPackages(
  names: SystemPackage[],
  options?: { optional?: boolean; env?: NodeJS.ProcessEnv },
): SystemPackage[];
