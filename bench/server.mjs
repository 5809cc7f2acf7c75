// A minimal Socket.IO chat server speaking the subset of roomcast's protocol the benchmark uses:
// `room:join` / `room:leave` with an ack, and `message:send` acked with { id, seq?, ts } after
// broadcasting `message` { id, room, seq?, text, user, ts, serverId } to the room, sender included.
// ADAPTER picks how instances reach each other:
//   memory  - Socket.IO's in-memory adapter: one process, no distribution (system U)
//   redis   - @socket.io/redis-adapter createAdapter: classic Redis pub/sub (system A)
//   sharded - createShardedAdapter, subscriptionMode "dynamic": a sharded channel per room (B)
//   streams - @socket.io/redis-streams-adapter with connectionStateRecovery on the Server: every
//             broadcast is an XADD to one Redis stream (kept to about 10,000 entries) that every
//             instance reads with XREAD, so a client that reconnects gets what it missed (S)
// No presence, history or persistence: it is the floor a distributed design is compared with.
// `seq` is sent only by the memory adapter, where one process can number a room's messages.
import { randomUUID, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import Redis from 'ioredis';

const ADAPTER = process.env.ADAPTER ?? 'memory';
const PORT = Number(process.env.PORT ?? 3101);
const INSTANCE_ID = process.env.INSTANCE_ID ?? `bench-${process.pid}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Each run has its own channel prefix, so runs (and roomcast's tests) never see each other; the
// streams adapter's stream and session keys start with it too, and the run deletes them after.
const CHANNEL_PREFIX = process.env.CHANNEL_PREFIX ?? `bench-${process.pid}`;
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;

// Counted like roomcast's roomcast_broker_deliveries(_unused)_total: room messages this instance
// got from Redis, and those for a room it has no local member of (wasted work).
const counters = { brokerDeliveries: 0, brokerUnused: 0, accepted: 0 };
/** socket.io-adapter's MessageType.BROADCAST: a room emit between instances. */
const BROADCAST = 3;

const http = createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok');
  if (req.url === '/bench') {
    res.setHeader('content-type', 'application/json');
    return void res.end(
      JSON.stringify({ ...counters, connections: io.engine.clientsCount, adapter: ADAPTER }),
    );
  }
  res.statusCode = 404;
  res.end();
});

const io = new Server(http, {
  maxHttpBufferSize: 16 * 1024,
  serveClient: false,
  // Socket.IO's defaults (2 min, skip middlewares); the streams adapter keeps the sessions in Redis.
  ...(ADAPTER === 'streams' ? { connectionStateRecovery: {} } : {}),
});
const clients = [];

if (ADAPTER === 'redis' || ADAPTER === 'sharded') {
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  clients.push(pub, sub);
  for (const c of clients) c.on('error', (err) => console.error(`[${INSTANCE_ID}] redis`, err));
  const roomOf = (channel) => {
    // `${prefix}#/#${room}#`: the per-room channel of either adapter.
    const base = `${CHANNEL_PREFIX}#/#`;
    const s = channel.toString();
    return s.startsWith(base) && s.length > base.length + 1 ? s.slice(base.length, -1) : null;
  };
  const count = (channel) => {
    const room = roomOf(channel);
    if (room === null) return;
    counters.brokerDeliveries++;
    if (!io.of('/').adapter.rooms.has(room)) counters.brokerUnused++;
  };
  if (ADAPTER === 'redis') {
    io.adapter(createAdapter(pub, sub, { key: CHANNEL_PREFIX }));
    sub.on('pmessageBuffer', (_pattern, channel) => count(channel));
  } else {
    io.adapter(
      createShardedAdapter(pub, sub, {
        channelPrefix: CHANNEL_PREFIX,
        subscriptionMode: 'dynamic',
      }),
    );
    sub.on('smessageBuffer', (channel) => count(channel));
  }
} else if (ADAPTER === 'streams') {
  const redis = new Redis(REDIS_URL);
  clients.push(redis);
  redis.on('error', (err) => console.error(`[${INSTANCE_ID}] redis`, err));
  io.adapter(
    createStreamsAdapter(redis, {
      streamName: `${CHANNEL_PREFIX}:stream`,
      channelPrefix: CHANNEL_PREFIX,
      sessionKeyPrefix: `${CHANNEL_PREFIX}:session:`,
    }),
  );
  // Every instance reads every entry of the one stream: a delivery is each broadcast entry it
  // read (its own included, as A counts its own publishes), unused when none of the entry's rooms
  // has a local member. Counted where the adapter hands a stream entry on, already decoded (the
  // entry's offset is given only for stream entries; pub/sub heartbeats and requests come
  // without one), so counting adds no parse of its own.
  const adapter = io.of('/').adapter;
  const onMessage = adapter.onMessage.bind(adapter);
  adapter.onMessage = (message, offset) => {
    if (offset !== undefined && message.type === BROADCAST) {
      counters.brokerDeliveries++;
      const rooms = message.data?.opts?.rooms ?? [];
      if (!rooms.some((room) => adapter.rooms.has(room))) counters.brokerUnused++;
    }
    return onMessage(message, offset);
  };
} else if (ADAPTER !== 'memory') {
  console.error(`ADAPTER must be memory, redis, sharded or streams, not ${ADAPTER}`);
  process.exit(1);
}

const seqs = new Map();
const fail = (code, message) => ({ ok: false, error: { code, message } });

io.use((socket, next) => {
  const name = socket.handshake.auth?.name;
  if (typeof name !== 'string' || name.trim().length < 1 || name.trim().length > 32) {
    return next(new Error('unauthorized'));
  }
  const display = name.trim();
  const id = `u-${createHash('sha256').update(display).digest('hex').slice(0, 16)}`;
  socket.data.user = { id, name: display };
  next();
});

io.on('connection', (socket) => {
  const user = socket.data.user;
  socket.on('room:join', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const room = payload?.room;
    if (typeof room !== 'string' || !ROOM.test(room)) return ack(fail('INVALID_PAYLOAD', 'room'));
    socket.join(room);
    ack({ ok: true, room, members: [], history: [], complete: true });
  });
  socket.on('room:leave', (payload, ack) => {
    const room = payload?.room;
    if (typeof room !== 'string' || !socket.rooms.has(room)) {
      return typeof ack === 'function' && ack(fail('NOT_IN_ROOM', 'not in room'));
    }
    socket.leave(room);
    if (typeof ack === 'function') ack({ ok: true, room });
  });
  socket.on('message:send', (payload, ack) => {
    const room = payload?.room;
    const text = typeof payload?.text === 'string' ? payload.text.trim() : '';
    const reply = typeof ack === 'function' ? ack : () => undefined;
    if (typeof room !== 'string' || !ROOM.test(room) || text.length < 1 || text.length > 4000) {
      return reply(fail('INVALID_PAYLOAD', 'room and text'));
    }
    if (!socket.rooms.has(room)) return reply(fail('NOT_IN_ROOM', `join ${room} first`));
    const message = { id: randomUUID(), room, text, user, ts: Date.now(), serverId: INSTANCE_ID };
    if (ADAPTER === 'memory') {
      const seq = (seqs.get(room) ?? 0) + 1;
      seqs.set(room, seq);
      message.seq = seq;
    }
    io.to(room).emit('message', message);
    counters.accepted++;
    reply({
      ok: true,
      id: message.id,
      ...(message.seq ? { seq: message.seq } : {}),
      ts: message.ts,
    });
  });
});

http.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`[bench-server] ${INSTANCE_ID} (${ADAPTER}) listening on :${PORT}\n`);
});

const shutdown = () => {
  io.close();
  for (const c of clients) c.disconnect();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
