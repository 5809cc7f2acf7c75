import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AmqpTopicClient } from '@roomcast/amqp-transport';
import {
  ChatError,
  ErrorCode,
  isPrivateRoom,
  PresenceEvent,
  roomRoutingKey,
  type HistoryDto,
  type JoinRoomDto,
  type Message,
  type RoomEnvelope,
  type RoomEvent,
  type User,
} from '@roomcast/contracts';
import { PresenceStore, type AppendResult } from '@roomcast/presence-store';
import type { Socket } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { LocalDelivery } from './local-delivery';
import { RoomRegistry } from './room-registry';
import { RoomSequencer } from './room-sequencer';
import { SendLimiter } from './send-limiter';

const RECENT_ON_JOIN = 50;

/** What a socket carries between events. */
export interface SocketState {
  user: User;
  /** Private rooms the handshake allows (JWT `rooms` claim). */
  privateRooms: ReadonlySet<string>;
  rooms: Set<string>;
  /** Last typing broadcast per room (ms), for the throttle. */
  typingAt?: Map<string, number>;
}

export function stateOf(socket: Socket): SocketState {
  return socket.data as SocketState;
}

/** Room membership, sends and reads for one gateway instance. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly store: PresenceStore,
    private readonly broker: AmqpTopicClient,
    private readonly registry: RoomRegistry,
    private readonly sequencer: RoomSequencer,
    private readonly delivery: LocalDelivery,
    private readonly metrics: GatewayMetrics,
    private readonly limiter: SendLimiter,
  ) {}

  async join(socket: Socket, dto: JoinRoomDto) {
    const { room } = dto;
    const state = stateOf(socket);
    this.assertMayEnter(room, state);
    const isNew = !state.rooms.has(room);
    if (isNew && state.rooms.size >= this.config.MAX_ROOMS_PER_CONNECTION) {
      throw new ChatError(
        ErrorCode.RateLimited,
        `at most ${this.config.MAX_ROOMS_PER_CONNECTION} rooms per connection: leave one first`,
      );
    }
    if (isNew) {
      state.rooms.add(room);
      try {
        await this.registry.add(room, socket.id);
      } catch (err) {
        state.rooms.delete(room);
        void this.registry.remove(room, socket.id).catch(() => undefined);
        throw unavailable('the message broker or Redis', err);
      }
      this.metrics.bindings.set(this.registry.boundCount);
      this.delivery.holdBack(room, socket);
      await socket.join(room);
      this.publishPresence(PresenceEvent.Join, {
        instanceId: this.config.INSTANCE_ID,
        socketId: socket.id,
        room,
      });
    } else {
      this.delivery.holdBack(room, socket);
    }
    let history: Message[];
    let members: User[];
    let current: number;
    try {
      [history, members, current] = await Promise.all([
        dto.sinceSeq !== undefined
          ? this.store.history(room, {
              afterSeq: dto.sinceSeq,
              limit: this.store.retention.maxMessages,
            })
          : this.store.recentMessages(room, RECENT_ON_JOIN),
        this.store.members(room),
        this.store.currentSeq(room),
      ]);
    } catch (err) {
      this.delivery.release(room, socket, Number.MAX_SAFE_INTEGER);
      if (isNew) await this.leaveQuietly(socket, room);
      throw unavailable('Redis', err);
    }
    const since = dto.sinceSeq ?? 0;
    this.delivery.release(room, socket, history.at(-1)?.seq ?? Math.min(since, current));
    if (!members.some((m) => m.id === state.user.id)) members.push(state.user);
    // Complete when nothing after `since` has been dropped by retention.
    const complete = history.length > 0 ? history[0].seq === since + 1 : current <= since;
    return { room, members, history, complete };
  }

  async leave(socket: Socket, room: string) {
    const state = stateOf(socket);
    if (!state.rooms.has(room)) throw new ChatError(ErrorCode.NotInRoom, `not in room ${room}`);
    await this.leaveQuietly(socket, room);
    return { room };
  }

  /** Leaves locally and tells presence (which tells the room if the user is gone for good). */
  private async leaveQuietly(socket: Socket, room: string): Promise<void> {
    await this.exitRoom(socket, room);
    this.publishPresence(PresenceEvent.Leave, {
      instanceId: this.config.INSTANCE_ID,
      socketId: socket.id,
      room,
    });
  }

  /** Local clean-up of every room of a socket that disconnected. */
  async disconnect(socket: Socket): Promise<void> {
    const state = stateOf(socket);
    if (!state?.rooms) return;
    this.limiter.forget(socket.id);
    await Promise.all([...state.rooms].map((room) => this.exitRoom(socket, room)));
    this.publishPresence(PresenceEvent.Disconnect, {
      instanceId: this.config.INSTANCE_ID,
      socketId: socket.id,
    });
  }

  async send(socket: Socket, room: string, text: string, clientId?: string) {
    const state = stateOf(socket);
    if (!state.rooms.has(room))
      throw new ChatError(ErrorCode.NotInRoom, `join ${room} before sending to it`);
    if (!(await this.limiter.allow(socket.id))) {
      throw new ChatError(
        ErrorCode.RateLimited,
        `at most ${this.config.RATE_LIMIT_PER_SEC} messages per second (burst ${this.config.RATE_LIMIT_BURST}); slow down`,
      );
    }
    const draft: Omit<Message, 'seq'> = {
      id: randomUUID(),
      room,
      text,
      user: state.user,
      ts: Date.now(),
      serverId: this.config.INSTANCE_ID,
      ...(clientId !== undefined ? { clientId } : {}),
    };
    let appended: AppendResult;
    try {
      appended = await this.store.appendMessage(draft, this.sequencer.lastSeq(room));
    } catch (err) {
      throw unavailable('Redis', err);
    }
    const { ack, duplicate } = appended;
    // A retried clientId: publish the first send's message again (members' sequencers drop it
    // if they have it), so a send whose first publish was lost is still delivered once.
    const message = duplicate
      ? await this.store.messageAt(room, ack.seq).catch(() => undefined)
      : { ...draft, seq: ack.seq };
    if (message) {
      try {
        await this.broker.publishEvent(roomRoutingKey(room), {
          t: 'message',
          message,
        } satisfies RoomEnvelope);
      } catch (err) {
        throw unavailable('the message broker', err);
      }
    }
    if (!duplicate) this.metrics.accepted.inc();
    return ack;
  }

  async history(socket: Socket, dto: HistoryDto) {
    this.assertMayEnter(dto.room, stateOf(socket));
    try {
      const messages = await this.store.history(dto.room, {
        beforeSeq: dto.beforeSeq,
        afterSeq: dto.afterSeq,
        limit: dto.limit ?? 50,
      });
      return { messages };
    } catch (err) {
      throw unavailable('Redis', err);
    }
  }

  async members(socket: Socket, room: string) {
    this.assertMayEnter(room, stateOf(socket));
    try {
      return { members: await this.store.members(room) };
    } catch (err) {
      throw unavailable('Redis', err);
    }
  }

  async typing(socket: Socket, room: string, typing: boolean) {
    const state = stateOf(socket);
    if (!state.rooms.has(room)) throw new ChatError(ErrorCode.NotInRoom, `not in room ${room}`);
    const now = Date.now();
    state.typingAt ??= new Map();
    // "Stopped typing" always goes out; "typing" at most once per interval per room.
    if (typing && now - (state.typingAt.get(room) ?? 0) < this.config.TYPING_MIN_INTERVAL_MS) {
      throw new ChatError(
        ErrorCode.RateLimited,
        'typing is throttled; the last notice still stands',
      );
    }
    state.typingAt.set(room, now);
    const envelope: RoomEnvelope = { t: 'typing', typing: { room, user: state.user, typing } };
    // Typing may be dropped under load: not worth a failed ack.
    this.broker.publishEvent(roomRoutingKey(room), envelope).catch(() => undefined);
    return {};
  }

  private async exitRoom(socket: Socket, room: string): Promise<void> {
    stateOf(socket).rooms.delete(room);
    this.delivery.forget(room, socket);
    await socket.leave(room);
    try {
      await this.registry.remove(room, socket.id);
    } catch (err) {
      // The binding stays until the broker answers again; reconnect restores only live rooms.
      this.logger.warn(`unbind of room ${room} failed: ${(err as Error).message}`);
    }
    this.metrics.bindings.set(this.registry.boundCount);
  }

  private assertMayEnter(room: string, state: SocketState): void {
    if (isPrivateRoom(room) && !state.privateRooms.has(room)) {
      throw new ChatError(
        ErrorCode.Forbidden,
        `${room} is private: it needs a token whose rooms claim lists it`,
      );
    }
  }

  /** Not awaited: one channel keeps the events in order, and a slow broker must not stall joins. */
  private publishPresence(
    event: PresenceEvent,
    payload: RoomEvent | { instanceId: string; socketId: string },
  ): void {
    this.broker.publishEvent(event, payload).catch((err: Error) => {
      this.logger.warn(`presence event ${event} not published: ${err.message}`);
    });
  }
}

function unavailable(dependency: string, err: unknown): ChatError {
  return new ChatError(
    ErrorCode.Unavailable,
    `${dependency} is not answering (${(err as Error)?.message ?? err}); retry later`,
  );
}
