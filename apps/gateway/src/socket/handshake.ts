import { isIP } from 'node:net';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Moderation } from '@roomcast/store';
import type { Socket } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { jwtIdentity, openModeUser, type Identity } from './identity';

/** The one message a refused handshake carries (PROTOCOL.md). */
export const UNAUTHORIZED = 'unauthorized';
export const TOO_MANY_CONNECTIONS = 'too many connections from this address';
/** A handshake that could not be checked (Redis down): the client retries later. */
export const UNAVAILABLE = 'unavailable';
/** Never reaches the client: Socket.IO ignores a middleware's answer once the connection closed. */
const CONNECTION_CLOSED = 'connection closed during the handshake';

/**
 * Socket.IO middleware work, before a connection is accepted: who it is (open or JWT mode) and
 * how many connections its address already has (the token's expiry is the session's: Sessions).
 */
@Injectable()
export class Handshake {
  private readonly logger = new Logger(Handshake.name);
  private readonly perAddress = new Map<string, number>();
  private readonly secret?: Uint8Array;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    /** Revocations (the server API's revoke): absent in unit tests of the handshake alone. */
    @Optional() private readonly moderation?: Moderation,
  ) {
    if (config.AUTH_MODE === 'jwt') this.secret = new TextEncoder().encode(config.JWT_SECRET);
  }

  /**
   * Resolves the identity, or rejects with the error Socket.IO hands the client as `connect_error`.
   *
   * The address's slot is taken before the first await and given back exactly once, on the first
   * of: a refused handshake, the socket's `disconnect`, the close of its engine.io connection.
   * `disconnect` alone is not enough: it fires only for a socket that connected, and Socket.IO
   * silently drops a socket whose connection closed while this middleware ran (a client that sends
   * its CONNECT and hangs up while the token is verified), whereas `socket.conn` emits `close` once
   * whether or not the socket ever connected.
   */
  async admit(socket: Socket): Promise<Identity> {
    if (socket.conn.readyState === 'closed') throw new Error(CONNECTION_CLOSED);
    const address = this.addressOf(socket);
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.config.MAX_CONNECTIONS_PER_IP) {
      this.logger.warn(`refused a connection from ${address}: ${open} already open`);
      throw new Error(TOO_MANY_CONNECTIONS);
    }
    this.perAddress.set(address, open + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      socket.conn.off('close', release);
      socket.off('disconnect', release);
      this.release(address);
    };
    socket.conn.once('close', release);
    socket.once('disconnect', release);

    let identity: Identity | null = null;
    try {
      identity = await this.verify(socket.handshake.auth);
    } finally {
      if (!identity) release();
    }
    if (!identity) throw new Error(UNAUTHORIZED);
    // Closed while the token was verified: the slot is back already and Socket.IO drops the socket.
    if (!held) throw new Error(CONNECTION_CLOSED);
    return identity;
  }

  /**
   * Who `auth` (a handshake's, or `auth:refresh`'s `{ token }`) says the user is, or null: also
   * for a token issued before the user's revocation. Redis not answering that is UNAVAILABLE
   * (the client retries), never a refusal.
   */
  async verify(auth: unknown): Promise<Identity | null> {
    if (!this.secret) {
      const user = openModeUser(auth);
      return user ? { user, privateRooms: new Set() } : null;
    }
    const identity = await jwtIdentity(auth, this.secret);
    if (!identity || !this.moderation) return identity;
    let before: number | undefined;
    try {
      before = await this.moderation.revokedBefore(identity.user.id);
    } catch (err) {
      this.logger.warn(`revocation of ${identity.user.id} not read: ${(err as Error).message}`);
      throw new Error(UNAVAILABLE, { cause: err });
    }
    return before !== undefined && (identity.issuedAt ?? 0) < before ? null : identity;
  }

  /**
   * With TRUST_PROXY, the address the one trusted proxy (nginx) saw: the rightmost X-Forwarded-For
   * entry, the one nginx appends (`$proxy_add_x_forwarded_for`). Every entry left of it came from
   * the client, which can write anything there. Without that entry (or if it is not an IP
   * address), the socket's own address.
   */
  private addressOf(socket: Socket): string {
    if (this.config.TRUST_PROXY) {
      const header = socket.handshake.headers['x-forwarded-for'];
      const last = (Array.isArray(header) ? header.join(',') : header)?.split(',').pop()?.trim();
      if (last && isIP(last)) return last;
    }
    return socket.handshake.address;
  }

  private release(address: string): void {
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }
}
