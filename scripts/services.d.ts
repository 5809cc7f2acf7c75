// Types for scripts/services.js, which plain node runs (npm start) and the test harness imports.

export interface ClusterService {
  name: string;
  app?: 'gateway' | 'presence' | 'api';
  env?: Record<string, string>;
  /** Another program than a built app (nginx), with its arguments. */
  command?: string;
  args?: string[];
  /** Printed when it stops on its own. */
  hint?: string;
}

export const root: string;
/** The built entry point of an app: dist/apps/<app>/src/main.js. */
export function entry(app: string): string;
export function clusterServices(env?: NodeJS.ProcessEnv, gateways?: number): ClusterService[];
export function nginxUpstreams(
  services: ClusterService[],
  env?: NodeJS.ProcessEnv,
): { gateways: string[]; api: string; port: number };
