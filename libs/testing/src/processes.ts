import path from 'node:path';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ROOT, scripts } from './root';
import { waitFor } from './wait';

export type AppName = 'gateway' | 'presence' | 'api';

/** A process that leads a process group of its own, so `killGroup` reaches its children too. */
export interface GroupProcess {
  child: ChildProcess;
  /** Its stdout and stderr, in chunks as they came (empty unless `output` is 'keep'). */
  logs: string[];
}

export interface RunningService extends GroupProcess {
  app: AppName;
  port: number;
  url: string;
}

export interface SpawnGroupOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** @default the repository root */
  cwd?: string;
  /**
   * 'keep' records stdout and stderr in `logs`; 'inherit' passes them to this process's.
   * @default 'keep'
   */
  output?: 'keep' | 'inherit' | 'ignore';
  /** Opens an IPC channel (`child.send`, 'message' events), as `fork` does. */
  ipc?: boolean;
  /** Keep only the last N chunks of output, for processes that run long. @default all */
  keepLogs?: number;
}

/** Every group spawnGroup started that has not exited, so `killAll` can end a run on abort. */
const running = new Set<ChildProcess>();

/** Spawns `command` as the leader of a new process group (detached), tracked for `killAll`. */
export function spawnGroup(
  command: string,
  args: string[],
  options: SpawnGroupOptions = {},
): GroupProcess {
  const output = options.output ?? 'keep';
  const out = output === 'keep' ? 'pipe' : output;
  const stdio: StdioOptions = ['ignore', out, out, ...(options.ipc ? (['ipc'] as const) : [])];
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: string[] = [];
  const limit = options.keepLogs ?? Infinity;
  const keep = (d: Buffer) => {
    logs.push(d.toString());
    if (logs.length > limit) logs.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // A program that cannot start (not installed) emits 'error' and no 'exit'.
  child.once('error', (err) => {
    running.delete(child);
    logs.push(`[harness] ${command}: ${err.message}\n`);
  });
  return { child, logs };
}

/** The lowest port the kernel gives outgoing connections (ip_local_port_range), else 32768. */
export function ephemeralLow(
  read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): number {
  try {
    const low = Number(read().trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0 && low <= 65535) return low;
  } catch {
    // not Linux, or not readable: the usual default
  }
  return 32768;
}

/** The lowest port `freePort` hands out: clear of the well-known and registered services here. */
const LOWEST_PORT = 10000;
/**
 * The Fetch standard's "bad ports" at or above `LOWEST_PORT`: Node's fetch and the browsers refuse
 * to connect to them ("bad port"), so a server there could never be reached by a test (CI lost a
 * whole suite to presence picking 10080).
 */
const FETCH_BAD_PORTS = new Set([10080]);
/** Ports this process already handed out: never twice, even once closed again. */
const handedOut = new Set<number>();

/** Listens on `port` of 127.0.0.1 (0: one the OS picks) and closes again: the port it had. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const { port: had } = srv.address() as { port: number };
      srv.close(() => resolve(had));
    });
  });
}

/**
 * A port free right now and below the kernel's ephemeral range, so that no outgoing connection
 * (this machine's clients, Redis's and RabbitMQ's own) takes it as its local port in the seconds
 * before the server it is for listens on it: a RabbitMQ node listens only once it has booted, and
 * a node restarted on its port must find it free. Ports are picked at random and never handed
 * out twice by one process, nor one that fetch and browsers refuse. Where that range leaves no
 * room, the OS picks (port 0). `random` is for tests.
 */
export async function freePort(random: () => number = Math.random): Promise<number> {
  const highest = ephemeralLow() - 1;
  if (highest - LOWEST_PORT >= 1000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = LOWEST_PORT + Math.floor(random() * (highest - LOWEST_PORT + 1));
      if (handedOut.has(port) || FETCH_BAD_PORTS.has(port)) continue;
      const free = await listenOnce(port).then(
        () => true,
        () => false,
      );
      if (!free) continue;
      handedOut.add(port);
      return port;
    }
  }
  return listenOnce(0);
}

/** Polls `url` until it answers 2xx; the failure names the process's output if it exited. */
export async function waitServing(
  proc: GroupProcess,
  url: string,
  timeoutMs = 20000,
  what = url,
): Promise<void> {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`exited: ${proc.logs.join('')}`);
      }
      return (await fetch(url)).ok;
    },
    timeoutMs,
    what,
    100,
  );
}

export interface ServiceOptions {
  /** Node options before the entry point (a preload, `--cpu-prof`). */
  nodeArgs?: string[];
  keepLogs?: number;
  /**
   * Another checkout whose build (`<root>/dist`) runs instead of this one's: the benchmark's
   * "before" system. @default this repository
   */
  root?: string;
}

/** A built app's entry point (of this checkout, or of `root`), or a failure that says to build it. */
export function appEntry(app: AppName, root?: string): string {
  const file =
    root === undefined
      ? scripts.services.entry(app)
      : path.join(root, 'dist', 'apps', app, 'src', 'main.js');
  if (!existsSync(file)) throw new Error(`${file} missing: run \`npm run build\``);
  return file;
}

/** Spawns a built app (`dist/`) in its own process group and waits for its /health. */
export async function startService(
  app: AppName,
  env: Record<string, string>,
  timeoutMs = 20000,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const port = Number(env.PORT ?? (await freePort()));
  const proc = spawnGroup(
    process.execPath,
    [...(options.nodeArgs ?? []), appEntry(app, options.root)],
    {
      env: { LOG_LEVEL: 'warn', ...env, PORT: String(port) },
      keepLogs: options.keepLogs,
    },
  );
  const service = { app, port, url: `http://127.0.0.1:${port}`, ...proc };
  try {
    await waitServing(service, `${service.url}/health`, timeoutMs, `${app} /health on :${port}`);
  } catch (err) {
    stopService(service, 'SIGKILL');
    throw err;
  }
  return service;
}

/** Runs a built app to its exit and returns its exit code and output. */
export function runToExit(
  app: AppName,
  env: Record<string, string>,
  timeoutMs = 20000,
): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const { child, logs } = spawnGroup(process.execPath, [appEntry(app)], { env });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      resolve({
        code: null,
        output: `${logs.join('')}\n[harness] still running after ${timeoutMs} ms`,
        ms: Date.now() - started,
      });
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: logs.join(''), ms: Date.now() - started });
    });
  });
}

export function stopService(service: RunningService, signal: NodeJS.Signals = 'SIGTERM'): void {
  killGroup(service.child, signal);
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every process group spawnGroup started that is still running (an aborted run). */
export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of running) killGroup(child, signal);
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
