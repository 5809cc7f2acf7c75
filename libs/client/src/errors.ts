import type { ErrorCode } from './protocol';

/**
 * Why a request failed: the server's error code, or one of the SDK's own: `DISCONNECTED` (the
 * connection went before the answer: it may or may not have been applied), `LEFT` and `REMOVED`
 * (the room is gone), `CLOSED` (the client is).
 */
export class RoomcastError extends Error {
  constructor(
    readonly code: ErrorCode | 'DISCONNECTED' | 'LEFT' | 'REMOVED' | 'CLOSED',
    message: string,
    /** The earliest useful retry, when the server named one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RoomcastError';
  }
}

/**
 * Whether trying again can work: a lost connection, a dependency down, a budget spent for a
 * known time, or a membership the server lost. Everything else is a final refusal.
 */
export function retryable(err: RoomcastError): boolean {
  switch (err.code) {
    case 'DISCONNECTED':
    case 'UNAVAILABLE':
    case 'NOT_IN_ROOM':
      return true;
    case 'RATE_LIMITED':
      return err.retryAfterMs !== undefined;
    default:
      return false;
  }
}
