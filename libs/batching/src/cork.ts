import type { Socket } from 'node:net';

/** The sockets corked until the end of the current pass. */
const corked = new WeakSet<Socket>();

function uncork(socket: Socket): void {
  corked.delete(socket);
  socket.uncork();
}

/**
 * Holds `socket`'s writes until the end of the current pass of the job queues (the
 * `process.nextTick` queue runs after the promise jobs of the pass), so that everything written
 * to it in that pass leaves in one system call instead of one each. Nothing waits on a timer.
 * Call before each write; a socket already held is left as it is.
 */
export function corkForPass(socket: Socket): void {
  if (corked.has(socket) || socket.destroyed) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(uncork, socket);
}

/** The objects whose method a `corkBefore` already wraps, by method. */
const wrapped = new WeakMap<object, Set<PropertyKey>>();

/**
 * Wraps `target[method]` so that each call first holds the socket it writes to for the pass
 * (`corkForPass`); `socketOf` finds that socket at the call (none: the call goes as it was).
 * Wrapping the same method of the same object again changes nothing.
 */
export function corkBefore<T extends object, K extends keyof T>(
  target: T,
  method: K,
  socketOf: (target: T) => Socket | undefined,
): void {
  const methods = wrapped.get(target) ?? new Set<PropertyKey>();
  if (methods.has(method)) return;
  methods.add(method);
  wrapped.set(target, methods);
  const original = target[method] as (...args: unknown[]) => unknown;
  target[method] = ((...args: unknown[]) => {
    const socket = socketOf(target);
    if (socket && typeof socket.cork === 'function') corkForPass(socket);
    return original.apply(target, args);
  }) as T[K];
}

/** A socket whose writes `corkForPass` groups: its `write` corks first. */
export function coalesceWrites(socket: Socket): void {
  corkBefore(socket, 'write', (s) => s);
}
