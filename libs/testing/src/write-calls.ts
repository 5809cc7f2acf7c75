import type { Socket } from 'node:net';

/**
 * Counts the writes `socket` hands the kernel from now on: each call of its `_write` (one chunk)
 * or `_writev` (what a cork held) is one system call. Returns the count so far.
 */
export function countWriteCalls(socket: Socket): () => number {
  let calls = 0;
  const internals = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => void>;
  for (const method of ['_write', '_writev'] as const) {
    const original = internals[method].bind(socket);
    internals[method] = (...args: unknown[]) => {
      calls++;
      original(...args);
    };
  }
  return () => calls;
}
