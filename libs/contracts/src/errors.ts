export const ErrorCode = {
  InvalidPayload: 'INVALID_PAYLOAD',
  NotInRoom: 'NOT_IN_ROOM',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  /** In the contract; never sent: frames over 16 KiB are cut off by the transport instead. */
  TooLarge: 'TOO_LARGE',
  /** The message named does not exist in the room's retained history (or was deleted). */
  NotFound: 'NOT_FOUND',
  Unavailable: 'UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error the client can act on: it becomes `{ ok: false, error: { code, message } }`. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The earliest useful retry, when known (exact for a rate limit). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

export type AckOk<T extends object> = { ok: true } & T;
export interface AckError {
  ok: false;
  error: { code: ErrorCode; message: string; retryAfterMs?: number };
}
export type Ack<T extends object> = AckOk<T> | AckError;

export function ackError(code: ErrorCode, message: string, retryAfterMs?: number): AckError {
  if (retryAfterMs === undefined) return { ok: false, error: { code, message } };
  return { ok: false, error: { code, message, retryAfterMs } };
}
