import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { RoomPolicies } from '@roomcast/config';
import {
  ChatError,
  ErrorCode,
  MAX_TEXT_LENGTH,
  ServerEvent,
  type SessionEndReason,
  type SessionInfo,
} from '@roomcast/contracts';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { stateOf, type ChatServer, type ChatSocket } from './chat-socket';
import { Handshake } from './handshake';

/** setTimeout takes at most ~24.8 days; a longer token is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A connection's session (PROTOCOL.md, "Sessions"): the `session` event that opens it, the end
 * of its token (`session:end` `token_expired`, then the connection is closed), `auth:refresh`
 * (a newer token for the same user, without reconnecting), and `session:end` before the server
 * ends a connection on purpose.
 */
@Injectable()
export class Sessions implements BeforeApplicationShutdown {
  private readonly logger = new Logger(Sessions.name);
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  private io?: ChatServer;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly handshake: Handshake,
    /** Rooms whose rule requires the claim are left, like private- rooms, when it goes. */
    @Optional() private readonly policies: RoomPolicies = RoomPolicies.none(),
  ) {}

  attach(io: ChatServer): void {
    this.io = io;
  }

  /** Emits `session`, the connection's first event, and arms its token's expiry. */
  start(socket: ChatSocket): void {
    const state = stateOf(socket);
    const c = this.config;
    const session: SessionInfo = {
      user: state.user,
      serverId: c.INSTANCE_ID,
      limits: {
        sendsPerSec: c.RATE_LIMIT_PER_SEC,
        sendBurst: c.RATE_LIMIT_BURST,
        eventsPerSec: c.RATE_LIMIT_EVENTS_PER_SEC,
        eventsBurst: c.RATE_LIMIT_EVENTS_BURST,
        maxRooms: c.MAX_ROOMS_PER_CONNECTION,
        maxTextLength: MAX_TEXT_LENGTH,
      },
      ...(state.expiresAt !== undefined ? { expiresAt: state.expiresAt } : {}),
    };
    socket.emit(ServerEvent.Session, session);
    this.arm(socket);
  }

  /** The connection is gone: its timer with it. */
  forget(socket: ChatSocket): void {
    clearTimeout(this.expiries.get(socket.id));
    this.expiries.delete(socket.id);
  }

  /**
   * `auth:refresh`: a token that verifies, has not expired and names the connection's user
   * replaces the connection's token; anything else is FORBIDDEN and changes nothing. Resolves
   * with the new expiry and the private rooms the socket is in that the new token no longer
   * allows (the caller leaves them).
   */
  async refresh(socket: ChatSocket, token: string): Promise<{ expiresAt: number; lost: string[] }> {
    if (this.config.AUTH_MODE !== 'jwt') {
      throw new ChatError(
        ErrorCode.Forbidden,
        'auth:refresh is for AUTH_MODE=jwt; open mode has no token',
      );
    }
    const state = stateOf(socket);
    const identity = await this.handshake.verify({ token });
    if (!identity || identity.expiresAt === undefined) {
      throw new ChatError(
        ErrorCode.Forbidden,
        'the token does not verify, has expired or was revoked',
      );
    }
    if (identity.user.id !== state.user.id) {
      throw new ChatError(
        ErrorCode.Forbidden,
        "the token names another user than the connection's",
      );
    }
    // The display name stays the connection's: members and messages already show it.
    state.privateRooms = identity.privateRooms;
    state.expiresAt = identity.expiresAt;
    if (identity.issuedAt !== undefined) state.issuedAt = identity.issuedAt;
    this.arm(socket);
    const lost = [...state.rooms].filter(
      (r) => this.policies.of(r).requiresClaim && !identity.privateRooms.has(r),
    );
    return { expiresAt: identity.expiresAt, lost };
  }

  /** Tells the client why, then ends the connection. */
  end(socket: ChatSocket, reason: SessionEndReason, retry: boolean): void {
    if (socket.disconnected) return;
    socket.emit(ServerEvent.SessionEnd, { reason, retry });
    socket.disconnect(true);
  }

  /** A draining gateway: every client hears it may come back elsewhere before the sockets close. */
  beforeApplicationShutdown(): void {
    this.io?.emit(ServerEvent.SessionEnd, { reason: 'shutdown', retry: true });
  }

  private arm(socket: ChatSocket): void {
    this.forget(socket);
    const at = stateOf(socket).expiresAt;
    if (at === undefined) return;
    const timer = setTimeout(
      () => {
        this.expiries.delete(socket.id);
        const now = stateOf(socket).expiresAt;
        // A longer token than one timer covers: wait again.
        if (now !== undefined && now > Date.now()) return this.arm(socket);
        this.logger.debug(`token of ${socket.id} expired`);
        this.end(socket, 'token_expired', true);
      },
      Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS),
    );
    timer.unref();
    this.expiries.set(socket.id, timer);
  }
}
