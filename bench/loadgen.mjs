// The load generator: one process, many socket.io-client connections, driven over IPC by
// bench/run.mjs. It connects and joins the workload's clients, then runs timed phases of
// open-loop sends (a schedule, not "send when acked") and checks every delivery:
//   - latency: send-to-receive, both ends on this process's monotonic clock;
//   - lost: an acked message that a member present for the whole run did not get;
//   - duplicated: a member got the same message twice;
//   - out of order: with `seq` (roomcast, U), a seq not above the last one seen in the room;
//     without it (A, B), a sender's messages not in the order it sent them.
import { performance } from 'node:perf_hooks';
import { connectOne, pool } from './lib/clients.mjs';
import { summary } from './lib/stats.mjs';

const TEXT_BYTES = Number(process.env.BENCH_TEXT_BYTES ?? 150);
const PAD = 'x'.repeat(TEXT_BYTES);

const clients = []; // { sock, idx, room, fixed, seen, lastSeq, lastCounter, sent }
const roomSize = new Map(); // fixed members per room
let senders = [];
let churners = [];
let churnRooms = [];
const records = []; // per sent message: { t0, room, expected, got, sender, counter, phase, acked }
let phase = null;
let foreign = 0;
let disconnects = 0;
let lastError = null;

const reply = (msg) => process.send(msg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function emitAck(sock, event, payload, ms = 30000) {
  return withTimeout(
    new Promise((res) => sock.emit(event, payload, res)),
    ms,
    `${event} ${JSON.stringify(payload)}`,
  );
}

function onMessage(c, m) {
  const now = performance.now();
  const text = m?.text;
  const colon = typeof text === 'string' ? text.indexOf(':') : -1;
  const rec = colon > 1 ? records[Number(text.slice(1, colon))] : undefined;
  if (!rec) {
    foreign++;
    return;
  }
  const id = rec.id;
  if (c.seen.has(id)) {
    rec.phase.dup++;
    return;
  }
  c.seen.add(id);
  if (m.seq !== undefined) {
    const last = c.lastSeq.get(m.room) ?? 0;
    if (m.seq <= last) rec.phase.ooo++;
    else c.lastSeq.set(m.room, m.seq);
  } else {
    const last = c.lastCounter.get(rec.sender) ?? -1;
    if (rec.counter <= last) rec.phase.ooo++;
    else c.lastCounter.set(rec.sender, rec.counter);
  }
  if (c.fixed) rec.got++;
  const p = rec.phase;
  p.latencies.push(now - rec.t0);
  // Throughput counts what arrived inside the active window, whichever phase sent it.
  if (phase && phase.windowOpen) phase.windowDeliveries++;
}

function addClient(sock, room, fixed) {
  const c = {
    sock,
    idx: clients.length,
    room,
    fixed,
    seen: new Set(),
    lastSeq: new Map(),
    lastCounter: new Map(),
    sent: 0,
  };
  clients.push(c);
  sock.on('message', (m) => onMessage(c, m));
  sock.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') {
      disconnects++;
      lastError = `client ${c.idx} disconnected: ${reason}`;
    }
  });
  return c;
}

async function setup({ tag, members, churn, concurrency = 200 }) {
  const t0 = performance.now();
  const socks = new Array(members.length);
  await pool(members, concurrency, async (m, i) => {
    socks[i] = await connectOne(m.url, `${tag}-${i}`);
  });
  const churnSocks = new Array(churn?.clients.length ?? 0);
  await pool(churn?.clients ?? [], concurrency, async (m, i) => {
    churnSocks[i] = await connectOne(m.url, `${tag}-churn-${i}`);
  });
  const connectMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < members.length; i++) {
    const room = members[i].room;
    const c = addClient(socks[i], room, true);
    if (room) roomSize.set(room, (roomSize.get(room) ?? 0) + 1);
    if (room) senders.push(c);
  }
  churners = churnSocks.map((s) =>
    Object.assign(addClient(s, null, false), { joined: null, busy: false }),
  );
  churnRooms = churn?.rooms ?? [];
  await pool(senders, 500, async (c) => {
    const ack = await emitAck(c.sock, 'room:join', { room: c.room });
    if (!ack?.ok) throw new Error(`room:join ${c.room}: ${JSON.stringify(ack)}`);
  });
  // Senders in an order that spreads consecutive sends over rooms and instances.
  senders = shuffle(senders);
  return { connectMs, joinMs: performance.now() - t1, clients: clients.length };
}

function shuffle(a) {
  // Deterministic (same order for every system): a fixed LCG.
  let s = 12345;
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function newPhase(name) {
  return {
    name,
    latencies: [],
    ackLatencies: [],
    joinLatencies: [],
    sent: 0,
    dup: 0,
    ooo: 0,
    ackErrors: 0,
    churnJoins: 0,
    churnLeaves: 0,
    churnErrors: 0,
    windowOpen: false,
    windowDeliveries: 0,
    records: [],
  };
}

let senderPtr = 0;
function sendOne(p) {
  const c = senders[senderPtr++ % senders.length];
  const id = records.length;
  const rec = {
    id,
    t0: performance.now(),
    room: c.room,
    expected: roomSize.get(c.room),
    got: 0,
    sender: c.idx,
    counter: c.sent++,
    phase: p,
    acked: 0,
  };
  records.push(rec);
  p.records.push(rec);
  p.sent++;
  const prefix = `b${id}:`;
  c.sock.emit('message:send', { room: c.room, text: prefix + PAD.slice(prefix.length) }, (ack) => {
    if (ack?.ok) {
      rec.acked = 1;
      p.ackLatencies.push(performance.now() - rec.t0);
    } else {
      rec.acked = -1;
      p.ackErrors++;
      lastError = `message:send ack: ${JSON.stringify(ack)}`;
    }
  });
}

let churnPtr = 0;
let churnRoomPtr = 0;
function churnOne(p) {
  const c = churners[churnPtr++ % churners.length];
  if (c.busy) return;
  c.busy = true;
  const room = churnRooms[(churnRoomPtr += 7) % churnRooms.length];
  const leave = c.joined
    ? emitAck(c.sock, 'room:leave', { room: c.joined }).then((ack) => {
        if (!ack?.ok) throw new Error(`room:leave: ${JSON.stringify(ack)}`);
        p.churnLeaves++;
        c.joined = null;
      })
    : Promise.resolve();
  const t0 = performance.now();
  leave
    .then(() => emitAck(c.sock, 'room:join', { room }))
    .then((ack) => {
      if (!ack?.ok) throw new Error(`room:join: ${JSON.stringify(ack)}`);
      p.churnJoins++;
      p.joinLatencies.push(performance.now() - t0);
      c.joined = room;
    })
    .catch((err) => {
      p.churnErrors++;
      lastError = `churn: ${err.message}`;
    })
    .finally(() => {
      c.busy = false;
    });
}

async function runPhase({ name, sendsPerSec, durationMs, churnPerSec = 0, drainMs = 2000 }) {
  const p = newPhase(name);
  phase = p;
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now();
  p.windowOpen = true;
  reply({ type: 'window-start' });
  let churned = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      if (elapsed >= durationMs) return resolve();
      const due = Math.floor((sendsPerSec * elapsed) / 1000) - p.sent;
      for (let i = 0; i < due; i++) sendOne(p);
      if (churnPerSec > 0 && churners.length > 0) {
        const dueChurn = Math.floor((churnPerSec * elapsed) / 1000) - churned;
        for (let i = 0; i < dueChurn; i++, churned++) churnOne(p);
      }
      setTimeout(tick, 2);
    };
    tick();
  });
  const windowMs = performance.now() - start;
  p.windowOpen = false;
  const windowDeliveries = p.windowDeliveries;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  reply({ type: 'window-end' });
  // Drain: wait for every fixed member's copy and every ack of this phase's messages.
  const drainStart = performance.now();
  const { missing, unacked, expected } = await drain(p.records, drainMs);
  const result = {
    name,
    windowMs,
    offeredSendsPerSec: sendsPerSec,
    sent: p.sent,
    sendsPerSec: (p.sent * 1000) / windowMs,
    deliveries: windowDeliveries,
    deliveriesPerSec: (windowDeliveries * 1000) / windowMs,
    expected,
    lost: missing,
    dup: p.dup,
    ooo: p.ooo,
    ackErrors: p.ackErrors,
    unacked,
    latency: summary(p.latencies),
    ack: summary(p.ackLatencies),
    churn: churnPerSec
      ? {
          joins: p.churnJoins,
          leaves: p.churnLeaves,
          errors: p.churnErrors,
          joinsPerSec: (p.churnJoins * 1000) / windowMs,
          join: summary(p.joinLatencies),
        }
      : undefined,
    drainMs: performance.now() - drainStart,
    loadgenElu: elu,
    disconnects,
    foreign,
    lastError,
  };
  // Later phases only need the records for late duplicates: drop the latency arrays.
  p.latencies = [];
  p.ackLatencies = [];
  return result;
}

async function connectIdle({ tag, members, concurrency = 200 }) {
  const t0 = performance.now();
  await pool(members, concurrency, async (m, i) => {
    addClient(await connectOne(m.url, `${tag}-idle-${i}`), null, true);
  });
  return { connectMs: performance.now() - t0, clients: clients.length };
}

/**
 * Waits up to `ms` for every copy of `recs` (sends not refused) to reach the members present
 * throughout and every ack: { missing, unacked, ackErrors, expected } then.
 */
async function drain(recs, ms) {
  const start = performance.now();
  for (;;) {
    const t = { missing: 0, unacked: 0, ackErrors: 0, expected: 0 };
    for (const r of recs) {
      if (r.acked === 0) t.unacked++;
      if (r.acked === -1) t.ackErrors++;
      else {
        t.missing += Math.max(0, r.expected - r.got);
        t.expected += r.expected;
      }
    }
    if ((t.missing === 0 && t.unacked === 0) || performance.now() - start >= ms) return t;
    await sleep(20);
  }
}

/** After the last phase: waits for stragglers, then totals every check over the whole trial. */
async function final({ waitMs = 5000 }) {
  const phases = new Set(records.map((r) => r.phase));
  const t = await drain(records, waitMs);
  let dup = 0;
  let ooo = 0;
  let churnErrors = 0;
  for (const p of phases) {
    dup += p.dup;
    ooo += p.ooo;
    churnErrors += p.churnErrors;
  }
  return {
    sent: records.length,
    expected: t.expected,
    lost: t.missing,
    unacked: t.unacked,
    ackErrors: t.ackErrors,
    dup,
    ooo,
    churnErrors,
    disconnects,
    foreign,
    lastError,
  };
}

process.on('message', async (msg) => {
  try {
    if (msg.type === 'final') reply({ type: 'final', result: await final(msg) });
    else if (msg.type === 'setup') reply({ type: 'ready', ...(await setup(msg)) });
    else if (msg.type === 'idle') reply({ type: 'ready', ...(await connectIdle(msg)) });
    else if (msg.type === 'phase') reply({ type: 'result', result: await runPhase(msg) });
    else if (msg.type === 'exit') {
      for (const c of clients) c.sock.disconnect();
      await sleep(50);
      process.exit(0);
    }
  } catch (err) {
    reply({ type: 'error', error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'hello', pid: process.pid });
