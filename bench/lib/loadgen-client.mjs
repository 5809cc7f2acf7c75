// Drives bench/loadgen.mjs, one process per trial, over IPC: it answers each command with one
// message ('hello', 'ready', 'window-start', 'window-end', 'result', 'final') or with 'error'.
import { join } from 'node:path';
import { ROOT, exited, killGroup, spawnGroup } from './harness.mjs';

const LOADGEN = join(ROOT, 'bench/loadgen.mjs');

/**
 * Starts a load generator in its own process group (libs/testing's killAll ends it on abort).
 * Returns { child, pid, send(msg), next(type, ms): its next `type` message, exit() }.
 */
export function startLoadgen() {
  const { child } = spawnGroup(process.execPath, [LOADGEN], { output: 'inherit', ipc: true });
  const queue = [];
  const waiters = [];
  let dead = null;
  const deliver = (msg) => {
    const i = waiters.findIndex((w) => msg.type === 'error' || w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else queue.push(msg);
  };
  child.on('message', deliver);
  child.on('exit', (code, signal) => {
    dead = `load generator exited (${code ?? signal})`;
    for (const w of waiters.splice(0)) w.reject(new Error(dead));
  });
  const next = (type, ms = 120000) =>
    new Promise((res, rej) => {
      const i = queue.findIndex((m) => m.type === 'error' || m.type === type);
      const settle = (msg) => {
        if (msg.type === 'error') rej(new Error(`load generator: ${msg.error}`));
        else res(msg);
      };
      if (i >= 0) return settle(queue.splice(i, 1)[0]);
      if (dead) return rej(new Error(dead));
      const timer = setTimeout(() => rej(new Error(`load generator: no ${type} in ${ms} ms`)), ms);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          settle(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
    });
  return {
    child,
    pid: child.pid,
    send: (msg) => child.send(msg),
    next,
    /** Asks it to close its sockets and exit; kills its group after 5 s. */
    async exit() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'exit' });
      let timer;
      await Promise.race([exited(child), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      killGroup(child, 'SIGKILL');
    },
  };
}

/** Runs `fn(lg)` with a load generator that has said hello; it exits after, whatever happened. */
export async function withLoadgen(fn) {
  const lg = startLoadgen();
  try {
    await lg.next('hello');
    return await fn(lg);
  } finally {
    await lg.exit();
  }
}

/**
 * Connects `members` ([{ url, room }]) and joins each to its room ('setup', with `churn`'s
 * clients) or only connects them ('idle'); resolves with its 'ready' ({ connectMs, joinMs }).
 */
export function connectMembers(lg, type, { tag, members, churn }, ms = 300000) {
  lg.send({ type, tag, members, churn });
  return lg.next('ready', ms);
}
