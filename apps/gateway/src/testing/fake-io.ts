import { chatSocketRoom, type Message, type SocketData } from '@roomcast/contracts';
import type { ChatServer, ChatSocket } from '../socket/chat-socket';

/**
 * Just enough of a Socket.IO server: rooms of sockets, `to(...).except(...).emit(...)`,
 * `of('/').sockets` and `of('/').adapter.rooms`.
 */
export function fakeServer() {
  const rooms = new Map<string, Set<FakeSocket>>();
  /** The connected sockets, as `io.of('/').sockets` holds them. */
  const sockets = new Map<string, FakeSocket>();
  class FakeSocket {
    readonly got: [string, unknown][] = [];
    connected = true;
    data = {} as SocketData;
    constructor(readonly id: string) {
      this.join(id);
    }
    join(room: string) {
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room)!.add(this);
    }
    leave(room: string) {
      rooms.get(room)?.delete(this);
    }
    /** Whether the socket is in the chat room's Socket.IO room. */
    inRoom(room: string) {
      return rooms.get(chatSocketRoom(room))?.has(this) ?? false;
    }
    emit(event: string, data: unknown) {
      this.got.push([event, data]);
      return true;
    }
    texts() {
      return this.got.map(([, d]) => (d as Message).text);
    }
  }
  const broadcast = (room: string, except: string[]) => ({
    except: (more: string | string[]) => broadcast(room, except.concat(more)),
    emit: (event: string, data: unknown) => {
      const skip = new Set(except.flatMap((r) => [...(rooms.get(r) ?? [])]));
      for (const s of rooms.get(room) ?? []) if (!skip.has(s)) s.emit(event, data);
      return true;
    },
  });
  const io = {
    to: (room: string) => broadcast(room, []),
    of: () => ({
      sockets,
      // Socket.IO's adapter.rooms: room -> the ids of its sockets.
      adapter: {
        get rooms() {
          return new Map([...rooms].map(([r, set]) => [r, new Set([...set].map((x) => x.id))]));
        },
      },
    }),
  } as unknown as ChatServer;
  const socket = (id: string, room?: string) => {
    const s = new FakeSocket(id);
    sockets.set(id, s);
    if (room) s.join(chatSocketRoom(room));
    return s;
  };
  /** The socket went away: no longer among the connected ones. */
  const drop = (s: FakeSocket) => {
    s.connected = false;
    sockets.delete(s.id);
  };
  return { io, socket, drop, asChat: (s: FakeSocket) => s as unknown as ChatSocket };
}
