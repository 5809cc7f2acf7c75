import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '../../..');

export type AppName = 'gateway' | 'presence' | 'stats';

export interface RunningService {
  app: AppName;
  port: number;
  url: string;
  child: ChildProcess;
  logs: string[];
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Spawns a built app (`dist/`) in its own process group and waits for its /health. */
export async function startService(
  app: AppName,
  env: Record<string, string>,
  timeoutMs = 20000,
): Promise<RunningService> {
  const port = Number(env.PORT ?? (await freePort()));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps', app, 'src/main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  const service = { app, port, url: `http://127.0.0.1:${port}`, child, logs };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${app} exited: ${logs.join('')}`);
        return (await fetch(`${service.url}/health`)).ok;
      },
      timeoutMs,
      `${app} /health on :${port}`,
      100,
    );
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
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps', app, 'src/main.js')], {
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      resolve({
        code: null,
        output: `${output}\n[harness] still running after ${timeoutMs} ms`,
        ms: Date.now() - started,
      });
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
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

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
