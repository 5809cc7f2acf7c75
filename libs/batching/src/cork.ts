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

/** A writable stream whose writes `corkForPass` groups: its `write` corks first. */
export function coalesceWrites(socket: Socket): void {
  const tagged = socket as Socket & { [COALESCED]?: true };
  if (tagged[COALESCED]) return;
  tagged[COALESCED] = true;
  const write = socket.write;
  socket.write = function (this: Socket, ...args: unknown[]) {
    corkForPass(this);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}

const COALESCED = Symbol('roomcast.coalesced');
