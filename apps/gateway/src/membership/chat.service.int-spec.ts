import {
  ChatError,
  ErrorCode,
  PresenceEvent,
  validatePayload,
  JoinRoomDto,
  type JoinResult,
  type SocketData,
} from '@roomcast/contracts';
import { Moderation, PresenceQueries, ReadCursors, RoomHistory } from '@roomcast/store';
import { REDIS_URL, requireServices, runPrefix } from '@roomcast/testing';
import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { MemoryPresenceEvents, MemoryRoomTraffic } from '../testing/memory-ports';
import { PresenceLink } from '../presence/presence-link';
import { RoomBindings } from './room-bindings';
import { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { fakeServer } from '../testing/fake-io';
import { ChatService } from './chat.service';
import { LocalDelivery } from '../fanout/local-delivery';
import { SendLimiter } from '../socket/rate-limits';
import { RoomRegistry } from './room-registry';
import { RoomSequencer } from '../fanout/room-sequencer';

/**
 * ChatService over the real Redis store and in-memory room traffic and presence events: the
 * membership order, the send path and its failures, without a broker.
 */
describe('ChatService (real Redis, in-memory broker ports)', () => {
  let redis: Redis;

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await redis?.quit();
  });

  function setup(retention?: { maxMessages: number; maxAgeMs: number }) {
    const prefix = `${runPrefix('chat')}-${Math.random().toString(36).slice(2, 6)}:`;
    const store = new PresenceQueries(redis, prefix);
    const log = new RoomHistory(redis, prefix, retention);
    const config = Object.assign(new GatewayEnv(), { INSTANCE_ID: 'g1' });
    const metrics = new GatewayMetrics(new Registry());
    const delivery = new LocalDelivery(metrics);
    const server = fakeServer();
    delivery.attach(server.io);
    const traffic = new MemoryRoomTraffic();
    const presence = new MemoryPresenceEvents();
    const link = new PresenceLink(config, presence, delivery);
    const sequencer = new RoomSequencer({
      emit: (m) => delivery.emitEntry(m),
      currentSeq: (room) => log.currentSeq(room),
      fetch: (room, afterSeq, beforeSeq) => log.entriesBetween(room, afterSeq, beforeSeq, 1000),
      gapMs: 50,
    });
    traffic.deliver = (e) => {
      if (e.t === 'message') sequencer.accept(e.message, e.prev);
      if (e.t === 'update') sequencer.accept(e.update, e.prev);
    };
    const registry = new RoomRegistry(new RoomBindings(traffic, sequencer, metrics.bindings));
    const chat = new ChatService(
      config,
      store,
      log,
      traffic,
      link,
      registry,
      sequencer,
      delivery,
      metrics,
      new SendLimiter(1000, 2000),
      new ReadCursors(redis, prefix),
      new Moderation(redis, prefix),
    );
    const socket = (id: string, name: string) => {
      const s = server.socket(id);
      const data: SocketData = {
        user: { id: `u-${name}`, name },
        privateRooms: new Set(),
        rooms: new Set(),
      };
      s.data = data;
      return s;
    };
    const join = (s: ReturnType<typeof socket>, payload: object) =>
      chat.join(server.asChat(s), validatePayload(JoinRoomDto, payload));
    const cleanup = async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    };
    return { chat, traffic, presence, link, registry, server, socket, join, cleanup, store, log };
  }

  it('applies a join and a leave sent back to back in that order, presence included', async () => {
    const t = setup();
    const s = t.socket('s1', 'Ann');
    const [joined, left] = await Promise.all([
      t.join(s, { room: 'r' }),
      t.chat.leave(t.server.asChat(s), 'r'),
    ]);
    expect(joined.room).toBe('r');
    expect(left).toEqual({ room: 'r' });
    expect(s.inRoom('r')).toBe(false);
    expect(s.data.rooms.size).toBe(0);
    expect(t.registry.has('r')).toBe(false);
    expect(t.traffic.bound.has('r')).toBe(false);
    expect(t.presence.events.map((e) => e.event)).toEqual([
      PresenceEvent.Join,
      PresenceEvent.Leave,
    ]);
    await t.cleanup();
  });

  it('sends: stored, published with its predecessor, delivered to the room once', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    const bob = t.socket('s2', 'Bob');
    await t.join(ann, { room: 'r' });
    await t.join(bob, { room: 'r' });
    const first = await t.chat.send(t.server.asChat(ann), 'r', 'hello', 'c-1');
    const again = await t.chat.send(t.server.asChat(ann), 'r', 'hello', 'c-1');
    const second = await t.chat.send(t.server.asChat(bob), 'r', 'hi');
    expect(again).toEqual(first);
    expect(second.seq).toBe(first.seq + 1);
    const published = t.traffic.published.map((p) => p.envelope);
    expect(published).toEqual([
      expect.objectContaining({ t: 'message', prev: 0 }),
      expect.objectContaining({ t: 'message', prev: 0 }), // the retry, republished as it was
      expect.objectContaining({ t: 'message', prev: first.seq }),
    ]);
    for (const s of [ann, bob]) expect(s.texts()).toEqual(['hello', 'hi']);
    await t.cleanup();
  });

  it('refuses a send to a room not joined, and a send after a pipelined leave', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    await expect(t.chat.send(t.server.asChat(ann), 'r', 'x')).rejects.toMatchObject({
      code: ErrorCode.NotInRoom,
    });
    const joining = t.join(ann, { room: 'r' });
    const sent = t.chat.send(t.server.asChat(ann), 'r', 'after the join');
    await joining;
    await expect(sent).resolves.toMatchObject({ seq: expect.any(Number) });
    void t.chat.leave(t.server.asChat(ann), 'r');
    await expect(t.chat.send(t.server.asChat(ann), 'r', 'after the leave')).rejects.toMatchObject({
      code: ErrorCode.NotInRoom,
    });
    await t.cleanup();
  });

  it('answers UNAVAILABLE without the error text when the broker refuses, and a retry is safe', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    await t.join(ann, { room: 'r' });
    t.traffic.failNext.publish = true;
    const err = await t.chat.send(t.server.asChat(ann), 'r', 'once', 'c-9').catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable });
    expect(err.message).not.toContain('(test)');
    const retry = await t.chat.send(t.server.asChat(ann), 'r', 'once', 'c-9');
    expect(ann.texts()).toEqual(['once']);
    expect((await t.log.history('r', { afterSeq: 0, limit: 10 })).map((m) => m.seq)).toEqual([
      retry.seq,
    ]);
    await t.cleanup();
  });

  it('fails a join whose bind fails: not a member, nothing told to presence', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    t.traffic.failNext.bind = true;
    await expect(t.join(ann, { room: 'r' })).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    expect(ann.data.rooms.size).toBe(0);
    expect(ann.inRoom('r')).toBe(false);
    expect(t.presence.events).toEqual([]);
    await t.cleanup();
  });

  it('fails a join that presence does not answer: not a member, unbound, and the next check syncs', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    await t.join(ann, { room: 'kept' });
    t.presence.failRequests = 1;
    const err = await t.join(ann, { room: 'r' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable });
    expect((err as Error).message).not.toContain('(test)');
    expect([...ann.data.rooms]).toEqual(['kept']);
    expect(ann.inRoom('r')).toBe(false);
    expect(t.traffic.bound.has('r')).toBe(false);
    await t.link.check();
    expect(t.presence.of(PresenceEvent.Sync)).toEqual([
      expect.objectContaining({
        instanceId: 'g1',
        sockets: [{ socketId: 's1', user: ann.data.user, rooms: ['kept'] }],
      }),
    ]);
    await t.cleanup();
  });

  it('acks a leave presence does not answer with UNAVAILABLE, having left locally', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    await t.join(ann, { room: 'r' });
    t.presence.failRequests = 1;
    await expect(t.chat.leave(t.server.asChat(ann), 'r')).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    expect(ann.data.rooms.size).toBe(0);
    expect(t.traffic.bound.has('r')).toBe(false);
    await t.cleanup();
  });

  it('caps a join since a seq at 100 messages with more, and says when it is complete', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    await t.join(ann, { room: 'r' });
    const seqs: number[] = [];
    for (let i = 0; i < 120; i++)
      seqs.push((await t.chat.send(t.server.asChat(ann), 'r', `m${i}`)).seq);
    const bob = t.socket('s2', 'Bob');
    const since: JoinResult = await t.join(bob, { room: 'r', sinceSeq: seqs[0] - 1 });
    expect(since.history.map((m) => m.text)).toEqual(
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    expect(since).toMatchObject({ more: true, complete: true });
    const tail = await t.join(bob, { room: 'r', sinceSeq: seqs[109] });
    expect(tail.history).toHaveLength(10);
    expect(tail).toMatchObject({ more: false, complete: true });
    // A seq from before the room's counter (Redis lost the room): not complete.
    expect(await t.join(bob, { room: 'r', sinceSeq: 5 })).toMatchObject({ complete: false });
    await t.cleanup();
  });

  it('says not complete when retention dropped an update between sinceSeq and the counter', async () => {
    // HISTORY_MAX 50: the log keeps 50 updates apart from its messages, so an edit followed by
    // 50 reactions is trimmed while the messages around it stay.
    const t = setup({ maxMessages: 50, maxAgeMs: 3_600_000 });
    const ann = t.socket('s1', 'Ann');
    await t.join(ann, { room: 'r' });
    const ids: string[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < 11; i++) {
      const ack = await t.chat.send(t.server.asChat(ann), 'r', `m${i}`);
      ids.push(ack.id);
      seqs.push(ack.seq);
    }
    const held = seqs[9];
    await t.chat.edit(t.server.asChat(ann), { room: 'r', id: ids[2], text: 'edited' });
    const bob = t.socket('s2', 'Bob');
    expect(await t.join(bob, { room: 'r', sinceSeq: held })).toMatchObject({ complete: true });
    for (let i = 0; i < 50; i++) {
      const reactor = t.socket(`r${i}`, `R${i}`);
      await t.join(reactor, { room: 'r' });
      await t.chat.react(t.server.asChat(reactor), {
        room: 'r',
        id: ids[10],
        emoji: 'x',
        on: true,
      });
    }
    const rejoin = await t.join(bob, { room: 'r', sinceSeq: held });
    expect(rejoin.updates.some((u) => u.kind === 'edit')).toBe(false);
    expect(rejoin).toMatchObject({ more: false, complete: false });
    await t.cleanup();
  });

  it('checks a send against the joins and leaves sent before it, not after (fuzz finding)', async () => {
    const t = setup();
    const ann = t.socket('s1', 'Ann');
    const a = t.server.asChat(ann);
    // join x, send y, join y: the send precedes the join of y.
    const [, early] = await Promise.allSettled([
      t.join(ann, { room: 'x' }),
      t.chat.send(a, 'y', 'too early'),
      t.join(ann, { room: 'y' }),
    ]);
    expect(early).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.NotInRoom } });
    // join r, sends, leave r: the sends precede the leave.
    const results = await Promise.allSettled([
      t.join(ann, { room: 'r' }),
      ...[1, 2, 3].map((i) => t.chat.send(a, 'r', `in time ${i}`)),
      t.chat.leave(a, 'r'),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    await t.cleanup();
  });

  it('keeps delivering live messages to a member that joins again (fuzz finding)', async () => {
    const t = setup();
    const x = t.socket('s1', 'X');
    const y = t.socket('s2', 'Y');
    await t.join(x, { room: 'r' });
    await t.join(y, { room: 'r' });
    // Within the first join's floor window too: a repeat join must not move that floor.
    await t.chat.send(t.server.asChat(y), 'r', 'first');
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      sends.push(t.chat.send(t.server.asChat(y), 'r', `m${i}`));
      // Repeated joins nobody waits for, as a client without a callback sends them.
      if (i % 5 === 0) void t.join(x, { room: 'r' });
    }
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 100));
    expect(x.texts()).toEqual(['first', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
    await t.cleanup();
  });

  it('throttles typing per room and says when the next notice may go (retryAfterMs)', async () => {
    const t = setup();
    const s = t.socket('s1', 'Ann');
    await t.join(s, { room: 'ty' });
    const chat = t.server.asChat(s);
    const interval = new GatewayEnv().TYPING_MIN_INTERVAL_MS;
    expect(await t.chat.typing(chat, 'ty', true)).toEqual({});
    const refused = await t.chat.typing(chat, 'ty', true).catch((err: unknown) => err);
    const refusedAt = Date.now();
    expect(refused).toBeInstanceOf(ChatError);
    const { code, retryAfterMs } = refused as ChatError;
    expect(code).toBe(ErrorCode.RateLimited);
    expect(Number.isInteger(retryAfterMs)).toBe(true);
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(interval);
    // "Stopped typing" is never held back, and a notice after the wait goes out.
    expect(await t.chat.typing(chat, 'ty', false)).toEqual({});
    await new Promise((r) => setTimeout(r, retryAfterMs! - (Date.now() - refusedAt) + 2));
    expect(await t.chat.typing(chat, 'ty', true)).toEqual({});
    await t.cleanup();
  });
});
