import { createHash } from 'node:crypto';
import { ChatError, ErrorCode, type User } from '@roomcast/contracts';

/**
 * A send whose clientId was already used by another send of the same user in the room, with
 * another name or text: not a retry (PROTOCOL.md: INVALID_PAYLOAD on a socket, 422 for the
 * server API's Idempotency-Key). Nothing was stored or published.
 */
export class ClientIdConflict extends ChatError {
  constructor(readonly clientId: string) {
    super(
      ErrorCode.InvalidPayload,
      `clientId ${JSON.stringify(clientId)} was used for another message: a retry repeats the same text; a new message needs a new clientId`,
    );
    this.name = 'ClientIdConflict';
  }
}

/**
 * What binds a clientId to its send: 22 base64url characters (128 bits of SHA-256) of the user
 * and the text, stored with the first send's ack. The user's id is in the key already; its name
 * is part of what the message says, so a retry under another name is another message.
 */
export function sendFingerprint(user: User, text: string): string {
  return createHash('sha256')
    .update(JSON.stringify([user.id, user.name, text]))
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}
