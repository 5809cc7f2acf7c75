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
  ErrorCode,
  DeleteMessageDto,
  EditMessageDto,
  HistoryDto,
  JoinRoomDto,
  ReactDto,
  ReactorsDto,
  ReadDto,
  validateEmptyPayload,
  LeaveRoomDto,
  MembersDto,
  SendMessageDto,
  TypingDto,
  userSocketRoom,
  validatePayload,
  type Ack,
  type AckResultOf,
  type ClientToServerEvents,
  type SocketData,
} from '@roomcast/contracts';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { ChatService } from './chat.service';
import type { ChatServer, ChatSocket } from './chat-socket';
import { stateOf } from './chat-socket';
import { Handshake } from './handshake';
import { LocalDelivery } from './local-delivery';
import { EventLimiter, UnreadLimiter } from './rate-limits';
import { SlowConsumers } from './slow-consumers';

/** What a handler answers to a client event: its ack from the contract (none to a dropped client). */
type Answer<E extends keyof ClientToServerEvents> = Promise<Ack<AckResultOf<E>> | undefined>;

/**
 * The Socket.IO face of the gateway. Every handler answers through its ack, success or error,
 * with a contract error code: nothing a client sends can crash or disconnect the server.
 */
@WebSocketGateway({ path: '/socket.io/' }) // limits and origins: GatewayIoAdapter
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly chat: ChatService,
    private readonly delivery: LocalDelivery,
    private readonly metrics: GatewayMetrics,
    private readonly handshake: Handshake,
    private readonly limiter: EventLimiter,
    private readonly slow: SlowConsumers,
    private readonly unreadBudget: UnreadLimiter,
  ) {}

  afterInit(io: ChatServer): void {
    this.delivery.attach(io);
    io.use((socket, next) => {
      this.handshake.admit(socket).then(
        (identity) => {
          const state: SocketData = {
            user: identity.user,
            privateRooms: identity.privateRooms,
            rooms: new Set(),
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
    this.metrics.connections.inc();
    void socket.join(userSocketRoom(user.id));
    this.chat.connect(socket);
  }

  handleDisconnect(socket: ChatSocket): void {
    this.metrics.connections.dec();
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
      this.chat.join(socket, validatePayload(JoinRoomDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Leave)
  leave(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'room:leave'> {
    return this.handle(ClientEvent.Leave, socket, () =>
      this.chat.leave(socket, validatePayload(LeaveRoomDto, body).room),
    );
  }

  @SubscribeMessage(ClientEvent.Send)
  send(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:send'> {
    return this.handle(ClientEvent.Send, socket, () => {
      const dto = validatePayload(SendMessageDto, body);
      return this.chat.send(socket, dto.room, dto.text, dto.clientId);
    });
  }

  @SubscribeMessage(ClientEvent.History)
  history(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'room:history'> {
    return this.handle(ClientEvent.History, socket, () =>
      this.chat.history(socket, validatePayload(HistoryDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Members)
  members(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'room:members'> {
    return this.handle(ClientEvent.Members, socket, () =>
      this.chat.members(socket, validatePayload(MembersDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Read)
  read(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'room:read'> {
    return this.handle(ClientEvent.Read, socket, () => {
      const dto = validatePayload(ReadDto, body);
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
      this.chat.edit(socket, validatePayload(EditMessageDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Delete)
  remove(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:delete'> {
    return this.handle(ClientEvent.Delete, socket, () =>
      this.chat.remove(socket, validatePayload(DeleteMessageDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.React)
  react(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:react'> {
    return this.handle(ClientEvent.React, socket, () =>
      this.chat.react(socket, validatePayload(ReactDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Reactors)
  reactors(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() body: unknown,
  ): Answer<'message:reactors'> {
    return this.handle(ClientEvent.Reactors, socket, () =>
      this.chat.reactors(socket, validatePayload(ReactorsDto, body)),
    );
  }

  @SubscribeMessage(ClientEvent.Typing)
  typing(@ConnectedSocket() socket: ChatSocket, @MessageBody() body: unknown): Answer<'typing'> {
    return this.handle(ClientEvent.Typing, socket, () => {
      const dto = validatePayload(TypingDto, body);
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
      if (err instanceof ChatError) return ackError(err.code, err.message, err.retryAfterMs);
      this.logger.error(
        `${event} from ${socket.id} failed: ${(err as Error)?.stack ?? String(err)}`,
      );
      return ackError(
        ErrorCode.Unavailable,
        'the server could not complete this request; retry later',
      );
    }
  }
}
