import { Injectable } from '@nestjs/common';
import {
  chatSocketRoom,
  ServerEvent,
  userSocketRoom,
  isUpdate,
  type LogEntry,
  type Message,
  type PresenceNotice,
  type ReadNotice,
  type TypingNotice,
  type Update,
} from '@roomcast/contracts';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import type { ChatServer, ChatSocket } from '../socket/chat-socket';

type Emitter = { emit(event: string, payload: LogEntry): unknown };

/** How long after a join's history read live messages are still checked against it. */
const FLOOR_MS = 2000;

interface JoiningSocket {
  socket: ChatSocket;
  /** Entries (messages and updates) held while the history is read; null once released. */
  held: LogEntry[] | null;
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

  /** One entry of the room's log, in seq order: a message or an update. */
  emitEntry(entry: LogEntry): void {
    if (isUpdate(entry)) this.emitUpdate(entry);
    else this.emitMessage(entry);
  }

  /** One message, in seq order, to the room's local sockets: a single room broadcast. */
  emitMessage(m: Message): void {
    this.broadcast(m);
    this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - m.ts) / 1000);
  }

  /** One update, in seq order with the messages, as `message:update`. */
  emitUpdate(u: Update): void {
    this.broadcast(u);
  }

  /**
   * A user's read cursor moved: `read` to that user's sockets here that are in the room, but
   * `origin` (the socket that moved it has its ack, or sent the message that moved it).
   */
  emitRead(userId: string, notice: ReadNotice, origin?: string): void {
    const rooms = this.io?.of('/').adapter.rooms;
    const own = rooms?.get(userSocketRoom(userId));
    // Most users have one connection here: the one that moved the cursor.
    if (!own || (own.size === 1 && origin !== undefined && own.has(origin))) return;
    const members = rooms!.get(chatSocketRoom(notice.room));
    if (!members) return;
    for (const id of own) {
      if (id === origin || !members.has(id)) continue;
      this.io!.of('/').sockets.get(id)?.emit(ServerEvent.Read, notice);
    }
  }

  private broadcast(entry: LogEntry): void {
    if (!this.io) return;
    // The event goes with its payload's type (the union is checked here, not by Socket.IO's types).
    const event = isUpdate(entry) ? ServerEvent.Update : ServerEvent.Message;
    const send = (to: object) => (to as Emitter).emit(event, entry);
    const joining = this.joining.get(entry.room);
    if (joining) {
      for (const j of joining.values()) {
        if (j.held) j.held.push(entry);
        else if (entry.seq > j.floor) send(j.socket);
      }
      send(this.io.to(chatSocketRoom(entry.room)).except([...joining.keys()]));
    } else {
      send(this.io.to(chatSocketRoom(entry.room)));
    }
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
    for (const m of held) {
      if (m.seq <= entry.floor) continue;
      if (isUpdate(m)) socket.emit(ServerEvent.Update, m);
      else socket.emit(ServerEvent.Message, m);
    }
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
