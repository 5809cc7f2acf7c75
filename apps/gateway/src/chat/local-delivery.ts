import { Injectable } from '@nestjs/common';
import {
  chatSocketRoom,
  ServerEvent,
  userSocketRoom,
  type Message,
  type PresenceNotice,
  type TypingNotice,
} from '@roomcast/contracts';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import type { ChatServer, ChatSocket } from './chat-socket';

/** How long after a join's history read live messages are still checked against it. */
const FLOOR_MS = 2000;

interface JoiningSocket {
  socket: ChatSocket;
  /** Messages held while the history is read; null once released. */
  held: Message[] | null;
  /** The newest seq the join's history held: live messages up to it are not sent again. */
  floor: number;
}

/**
 * Emits broker deliveries to this instance's sockets: one ChatSocket.IO room broadcast per message.
 * A socket whose join is reading history is held out of the broadcast; once the read is done it
 * gets what was held, and for a short while after only messages newer than its history, so the
 * history in its join ack and the live stream neither overlap nor leave a gap.
 */
@Injectable()
export class LocalDelivery {
  private io?: ChatServer;
  private readonly joining = new Map<string, Map<string, JoiningSocket>>();

  constructor(private readonly metrics: GatewayMetrics) {}

  attach(io: ChatServer): void {
    this.io = io;
  }

  /** This instance's connected sockets. */
  localSockets(): Iterable<ChatSocket> {
    return this.io?.of('/').sockets.values() ?? [];
  }

  /** One message, in seq order, to the room's local sockets: a single room broadcast. */
  emitMessage(m: Message): void {
    if (!this.io) return;
    const joining = this.joining.get(m.room);
    if (joining) {
      for (const j of joining.values()) {
        if (j.held) j.held.push(m);
        else if (m.seq > j.floor) j.socket.emit(ServerEvent.Message, m);
      }
      this.io
        .to(chatSocketRoom(m.room))
        .except([...joining.keys()])
        .emit(ServerEvent.Message, m);
    } else {
      this.io.to(chatSocketRoom(m.room)).emit(ServerEvent.Message, m);
    }
    this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - m.ts) / 1000);
  }

  emitPresence(notice: PresenceNotice): void {
    this.io?.to(chatSocketRoom(notice.room)).emit(ServerEvent.Presence, notice);
  }

  /** Typing goes to the other members only: every socket of the typing user is left out. */
  emitTyping(notice: TypingNotice): void {
    this.io
      ?.to(chatSocketRoom(notice.room))
      .except(userSocketRoom(notice.user.id))
      .emit(ServerEvent.Typing, notice);
  }

  /** Starts holding live messages of `room` back from `socket` (call before socket.join). */
  holdBack(room: string, socket: ChatSocket): void {
    let joining = this.joining.get(room);
    if (!joining) this.joining.set(room, (joining = new Map()));
    joining.set(socket.id, { socket, held: [], floor: Number.MAX_SAFE_INTEGER });
  }

  /** The history read is done: sends what was held and newer than the history, then lets go. */
  release(room: string, socket: ChatSocket, lastSeqInHistory: number): void {
    const joining = this.joining.get(room);
    const entry = joining?.get(socket.id);
    if (!joining || !entry) return;
    const held = entry.held ?? [];
    entry.held = null;
    entry.floor = lastSeqInHistory;
    for (const m of held) if (m.seq > entry.floor) socket.emit(ServerEvent.Message, m);
    setTimeout(() => {
      if (joining.get(socket.id) === entry) joining.delete(socket.id);
      if (joining.size === 0 && this.joining.get(room) === joining) this.joining.delete(room);
    }, FLOOR_MS).unref();
  }

  /** Forgets a socket that left or disconnected mid-join. */
  forget(room: string, socket: ChatSocket): void {
    const joining = this.joining.get(room);
    joining?.delete(socket.id);
    if (joining?.size === 0) this.joining.delete(room);
  }
}
