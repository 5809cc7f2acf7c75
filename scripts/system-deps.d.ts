// Types for scripts/system-deps.js, which plain node runs (npm test, npm start, .ci/run) and the
// tests import.

export type SystemPackage = 'nginx' | 'chromium';

export type Plan =
  | { action: 'none' }
  | { action: 'install'; commands: string[][] }
  | { action: 'ask'; line: string };

export const PACKAGES: Record<SystemPackage, { present(env: NodeJS.ProcessEnv): boolean }>;
export function plan(missing: string[], host: { root: boolean; apt: boolean }): Plan;
export function ensureSystemPackages(
  names: SystemPackage[],
  options?: { optional?: boolean; env?: NodeJS.ProcessEnv },
): SystemPackage[];
