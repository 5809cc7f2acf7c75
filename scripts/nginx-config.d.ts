// Types for scripts/nginx-config.js, which plain node runs (npm start) and the tests import.

export interface RenderOptions {
  target: 'compose' | 'local';
  /** `host:port` of each gateway. */
  gateways: string[];
  /** `host:port` of the Stats API. */
  api: string;
  /** nginx `listen` value: a port or `address:port`. */
  listen: number | string;
  webRoot: string;
  pid: string;
  accessLog?: string;
  tempDir?: string;
  workerProcesses?: number | 'auto';
  maxFiles?: number;
}

export interface LocalOptions {
  prefix?: string;
  gateways: string[];
  api: string;
  listen?: number | string;
  webRoot?: string;
  workerProcesses?: number | 'auto';
  accessLog?: string;
}

export const COMPOSE: { gateways: string[]; api: string; port: number };
export const COMPOSE_CONF: string;
export const LOCAL_PREFIX: string;
export function renderNginxConfig(opts: RenderOptions): string;
export function composeNginxConfig(): string;
export function writeLocalNginxConfig(opts: LocalOptions): { conf: string; args: string[] };
export function findNginx(env?: NodeJS.ProcessEnv): string | undefined;
