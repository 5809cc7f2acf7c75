import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { exited, freePort, killGroup, spawnGroup } from './processes';
import { scripts } from './root';
import { waitFor } from './wait';

export interface NginxOptions {
  /** `host:port` of each gateway. */
  gateways: string[];
  /** `host:port` of the Stats API. */
  api: string;
  /** Default: a free port. Pass the previous one to restart on the same address. */
  port?: number;
  /** Where the config, pid and temp files go. Default: a new temp directory. */
  prefix?: string;
}

export interface RunningNginx {
  url: string;
  port: number;
  prefix: string;
  child: ChildProcess;
  logs: string[];
  options: Required<NginxOptions>;
}

/** The nginx binary, or a failure that says how to install it. */
export function requireNginx(): string {
  const bin = scripts.nginxConfig.findNginx();
  if (!bin) {
    throw new Error(
      'nginx is not installed (looked in PATH, /usr/sbin and /usr/local/sbin; NGINX_BIN ' +
        'overrides): install it with `apt-get install -y nginx`',
    );
  }
  return bin;
}

/**
 * Runs real nginx in the foreground with a config rendered from nginx/nginx.conf.template (one
 * worker, 127.0.0.1 only, the web client from dist/web) and waits until it answers.
 */
export async function startNginx(opts: NginxOptions, timeoutMs = 10000): Promise<RunningNginx> {
  const bin = requireNginx();
  const options: Required<NginxOptions> = {
    ...opts,
    port: opts.port ?? (await freePort()),
    prefix: opts.prefix ?? mkdtempSync(path.join(tmpdir(), 'roomcast-nginx-')),
  };
  const { args } = scripts.nginxConfig.writeLocalNginxConfig({
    prefix: options.prefix,
    gateways: options.gateways,
    api: options.api,
    listen: `127.0.0.1:${options.port}`,
    workerProcesses: 1,
    accessLog: 'off',
  });
  const { child, logs } = spawnGroup(bin, args);
  const nginx = {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    prefix: options.prefix,
    child,
    logs,
    options,
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${logs.join('')}`);
        return (await fetch(`${nginx.url}/nginx-health`)).ok;
      },
      timeoutMs,
      `nginx on :${options.port}`,
      100,
    );
  } catch (err) {
    killGroup(child, 'SIGKILL');
    throw err;
  }
  return nginx;
}

/**
 * Fast shutdown (closes every proxied connection); SIGKILL if it has not exited in time. Keep the
 * prefix to start nginx again with the same options.
 */
export async function stopNginx(
  nginx: RunningNginx,
  { removePrefix = false, timeoutMs = 5000 } = {},
): Promise<void> {
  killGroup(nginx.child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(nginx.child, 'SIGKILL'), timeoutMs);
  await exited(nginx.child);
  clearTimeout(timer);
  if (removePrefix) rmSync(nginx.prefix, { recursive: true, force: true });
}
