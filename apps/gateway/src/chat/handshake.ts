import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { jwtIdentity, openModeUser, type Identity } from './identity';

/** The one message a refused handshake carries (PROTOCOL.md). */
export const UNAUTHORIZED = 'unauthorized';
export const TOO_MANY_CONNECTIONS = 'too many connections from this address';

/**
 * Socket.IO middleware work, before a connection is accepted: who it is (open or JWT mode), how
 * many connections its address already has, and a timer that closes it when its token expires.
 */
@Injectable()
export class Handshake {
  private readonly logger = new Logger(Handshake.name);
  private readonly perAddress = new Map<string, number>();
  private readonly secret?: Uint8Array;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv) {
    if (config.AUTH_MODE === 'jwt') this.secret = new TextEncoder().encode(config.JWT_SECRET);
  }

  /** Resolves the identity, or throws the error Socket.IO hands the client as `connect_error`. */
  async admit(socket: Socket): Promise<Identity> {
    const identity = await this.identify(socket.handshake.auth);
    if (!identity) throw new Error(UNAUTHORIZED);
    const address = this.addressOf(socket);
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.config.MAX_CONNECTIONS_PER_IP) {
      this.logger.warn(`refused a connection from ${address}: ${open} already open`);
      throw new Error(TOO_MANY_CONNECTIONS);
    }
    this.perAddress.set(address, open + 1);
    socket.once('disconnect', () => this.release(address));
    if (identity.expiresAt !== undefined) {
      // setTimeout takes at most ~24.8 days; a longer token is re-checked then.
      const timer = setTimeout(
        () => socket.disconnect(true),
        Math.min(identity.expiresAt - Date.now(), 2 ** 31 - 1),
      );
      timer.unref();
      socket.once('disconnect', () => clearTimeout(timer));
    }
    return identity;
  }

  private identify(auth: unknown): Promise<Identity | null> | Identity | null {
    if (this.secret) return jwtIdentity(auth, this.secret);
    const user = openModeUser(auth);
    return user ? { user, privateRooms: new Set() } : null;
  }

  private addressOf(socket: Socket): string {
    if (this.config.TRUST_PROXY) {
      const forwarded = socket.handshake.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return socket.handshake.address;
  }

  private release(address: string): void {
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }
}
