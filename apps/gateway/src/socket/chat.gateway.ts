import { Inject, Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import {
  ackError,
  ChatError,
  ClientEvent,
  compileEventValidators,
  ErrorCode,
  ServerEvent,
  validateEmptyPayload,
  userSocketRoom,
  type Ack,
  type AckResultOf,
  type ClientToServerEvents,
  type SocketData,
} from '@roomcast/contracts';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { ChatService } from '../membership/chat.service';
import type { ChatServer, ChatSocket } from './chat-socket';
import { stateOf } from './chat-socket';
import { Handshake } from './handshake';
import { LocalDelivery } from '../fanout/local-delivery';
import { EventLimiter, UnreadLimiter } from './rate-limits';
import { Sessions } from './sessions';
import { SlowConsumers } from './slow-consumers';

/**
 * The `retryAfterMs` hint of an UNAVAILABLE ack (a dependency that is down: no exact time is
 * known): about a presence check's round, so clients neither hammer nor wait long.
 */
export const UNAVAILABLE_RETRY_MS = 1000;

/** What a handler answers to a client event: its ack from the contract (none to a dropped client). */
type Answer<E extends keyof ClientToServerEvents> = Promise<Ack<AckResultOf<E>> | undefined>;

/**
 * The Socket.IO face of the gateway. Every handler answers through its ack, success or error,
 * with a contract error code: nothing a client sends can crash or disconnect the server.
 */
@WebSocketGateway({ path: '/socket.io/' }) // limits and origins: GatewayIoAdapter
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);
  /**
   * Each event's payload validator, compiled from its DTO's field rules once, here at start-up:
   * what validatePayload (class-transformer + class-validator) accepts and says, at a fraction of
   * its cost per event (compiled-validate.spec.ts holds the two to the same answers).
   */
  private readonly payload = compileEventValidators();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly chat: ChatService,
    private readonly delivery: LocalDelivery,
    private readonly metrics: GatewayMetrics,
    private readonly handshake: Handshake,
    private readonly limiter: EventLimiter,
    private readonly slow: SlowConsumers,
    private readonly unreadBudget: UnreadLimiter,
    private readonly sessions: Sessions,
  ) {}

  afterInit(io: ChatServer): void {
    this.delivery.attach(io);
    this.sessions.attach(io);
    io.use((socket, next) => {
      this.handshake.admit(socket).then(
        (identity) => {
          const state: SocketData = {
            user: identity.user,
            privateRooms: identity.privateRooms,
            rooms: new Set(),
            ...(identity.expiresAt !== undefined ? { expiresAt: identity.expiresAt } : {}),
            ...(identity.issuedAt !== undefined ? { issuedAt: identity.issuedAt } : {}),
          };
          Object.assign(socket.data, state);
          next();
        },
        (err: Error) => next(err),
      );
    });
  }

  handleConnection(socket: ChatSocket): void {
    const { user } = stateOf(socket);
    // The session event first: before any other event reaches the client.
    this.sessions.start(socket);
    this.metrics.connections.inc();
    void socket.join(userSocketRoom(user.id));
    this.chat.connect(socket);
  }

  handleDisconnect(socket: ChatSocket): void {
    this.metrics.connections.dec();
    this.sessions.forget(socket);
    this.limiter.forget(socket.id);
    this.unreadBudget.forget(socket.id);
    this.chat
      .disconnect(socket)
      .catch((err: Error) =>
        this.logger.warn(`disconnect clean-up of ${socket.id}: ${err.message}`),
      );
  }

  @SubscribeMessage(ClientEvent.Join)
  join(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'room:join'> {
    return this.handle(ClientEvent.Join, socket, () =>
      this.chat.join(socket, this.payload[ClientEvent.Join](body)),
    );
  }

  @SubscribeMessage(ClientEvent.Leave)
  leave(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'room:leave'> {
    return this.handle(ClientEvent.Leave, socket, () =>
      this.chat.leave(socket, this.payload[ClientEvent.Leave](body).room),
    );
  }

  @SubscribeMessage(ClientEvent.Send)
  send(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:send'> {
    return this.handle(ClientEvent.Send, socket, () => {
      const dto = this.payload[ClientEvent.Send](body);
      return this.chat.send(socket, dto.room, dto.text, dto.clientId);
    });
  }

  @SubscribeMessage(ClientEvent.History)
  history(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'room:history'> {
    return this.handle(ClientEvent.History, socket, () =>
      this.chat.history(socket, this.payload[ClientEvent.History](body)),
    );
  }

  @SubscribeMessage(ClientEvent.Members)
  members(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'room:members'> {
    return this.handle(ClientEvent.Members, socket, () =>
      this.chat.members(socket, this.payload[ClientEvent.Members](body)),
    );
  }

  @SubscribeMessage(ClientEvent.Read)
  read(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'room:read'> {
    return this.handle(ClientEvent.Read, socket, () => {
      const dto = this.payload[ClientEvent.Read](body);
      return this.chat.read(socket, dto.room, dto.seq);
    });
  }

  @SubscribeMessage(ClientEvent.Unread)
  unread(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'rooms:unread'> {
    return this.handle(ClientEvent.Unread, socket, async () => {
      validateEmptyPayload(body);
      const wait = this.unreadBudget.take(socket.id);
      if (wait > 0) {
        throw new ChatError(
          ErrorCode.RateLimited,
          `at most ${this.config.RATE_LIMIT_UNREAD_PER_10S} rooms:unread per 10 s; slow down`,
          wait,
        );
      }
      return this.chat.unread(socket);
    });
  }

  @SubscribeMessage(ClientEvent.Edit)
  edit(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:edit'> {
    return this.handle(ClientEvent.Edit, socket, () =>
      this.chat.edit(socket, this.payload[ClientEvent.Edit](body)),
    );
  }

  @SubscribeMessage(ClientEvent.Delete)
  remove(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:delete'> {
    return this.handle(ClientEvent.Delete, socket, () =>
      this.chat.remove(socket, this.payload[ClientEvent.Delete](body)),
    );
  }

  @SubscribeMessage(ClientEvent.React)
  react(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:react'> {
    return this.handle(ClientEvent.React, socket, () =>
      this.chat.react(socket, this.payload[ClientEvent.React](body)),
    );
  }

  @SubscribeMessage(ClientEvent.Reactors)
  reactors(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:reactors'> {
    return this.handle(ClientEvent.Reactors, socket, () =>
      this.chat.reactors(socket, this.payload[ClientEvent.Reactors](body)),
    );
  }

  /**
   * A newer token without reconnecting: the private rooms it no longer allows are left, as by
   * `room:leave`, each with `room:removed` `forbidden`, before the ack.
   */
  @SubscribeMessage(ClientEvent.AuthRefresh)
  authRefresh(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'auth:refresh'> {
    return this.handle(ClientEvent.AuthRefresh, socket, async () => {
      const { token } = this.payload[ClientEvent.AuthRefresh](body);
      const { expiresAt, lost } = await this.sessions.refresh(socket, token);
      for (const room of lost) {
        await this.chat.leave(socket, room).catch((err: Error) => {
          // Out of the room locally (no more of its traffic) whatever presence answered.
          this.logger.warn(`leaving ${room} after a refresh of ${socket.id}: ${err.message}`);
        });
        socket.emit(ServerEvent.RoomRemoved, { room, reason: 'forbidden' });
      }
      return { expiresAt };
    });
  }

  @SubscribeMessage(ClientEvent.Typing)
  typing(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'typing'> {
    return this.handle(ClientEvent.Typing, socket, () => {
      const dto = this.payload[ClientEvent.Typing](body);
      return this.chat.typing(socket, dto.room, dto.typing);
    });
  }

  /**
   * Every event: the connection's event budget first, and no answer at all to a client that has
   * left too much unread (it is disconnected), then the handler, whose failure becomes a code.
   */
  private async handle<T extends object>(
    event: string,
    socket: ChatSocket,
    run: () => Promise<T> | T,
  ): Promise<Ack<T> | undefined> {
    try {
      if (!this.slow.check(socket)) return undefined;
      const wait = this.limiter.take(socket.id);
      if (wait > 0) {
        return ackError(
          ErrorCode.RateLimited,
          `at most ${this.config.RATE_LIMIT_EVENTS_PER_SEC} events per second (burst ${this.config.RATE_LIMIT_EVENTS_BURST}); slow down`,
          wait,
        );
      }
      const result = await run();
      // Asked-for bytes are the cheap way to fill a gateway: a client that has not read the
      // last answers gets no more of them.
      if (!this.slow.check(socket)) return undefined;
      return { ok: true, ...result };
    } catch (err) {
      if (err instanceof ChatError) {
        const hint = err.code === ErrorCode.Unavailable ? UNAVAILABLE_RETRY_MS : undefined;
        return ackError(err.code, err.message, err.retryAfterMs ?? hint);
      }
      this.logger.error(
        `${event} from ${socket.id} failed: ${(err as Error)?.stack ?? String(err)}`,
      );
      return ackError(
        ErrorCode.Unavailable,
        'the server could not complete this request; retry later',
        UNAVAILABLE_RETRY_MS,
      );
    }
  }
}
