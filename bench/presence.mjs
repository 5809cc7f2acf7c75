#!/usr/bin/env node
// Presence benchmark: `npm run bench:presence` (writes docs/benchmarks/presence.md and
// presence.json). Real processes: presence, stats and three gateways on the machine's Redis and
// RabbitMQ, under a prefix of the run's own.
//   join   latency of `room:join` and `room:leave` acks (p50/p99/p99.9), clients spread over
//          the three gateways
//   ryw    rounds of "A joins on gateway 1 and is acked; B joins on gateway 2" and "A leaves and
//          is acked; B reads the members at once; the Stats API is read at once": stale reads
//   rate   the changes/s presence applies: a stand-in gateway sends connect + join requests for
//          `--sockets` sockets, `--inflight` sockets at a time, to one replica, then to two
//   huge   a join into a room of `--sockets` users (the stand-in's) against one of 10: ack time
//          and size
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LIFTED_LIMITS } from './lib/constants.mjs';
import { AMQP_URL, connectClient, killAll, startCluster, waitFor } from './lib/harness.mjs';
import { log, runMain } from './lib/log.mjs';
import { standInGateway } from './lib/stand-in.mjs';
import { roundedSummary as summary } from './lib/stats.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    joins: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '200' },
    sockets: { type: 'string', default: '50000' },
    inflight: { type: 'string', default: '256' },
    out: { type: 'string' },
    label: { type: 'string', default: 'after' },
  },
});
const JOINS = Number(args.joins);
const ROUNDS = Number(args.rounds);
const SOCKETS = Number(args.sockets);
const INFLIGHT = Number(args.inflight);

/** A stand-in gateway's settings on `cluster`'s exchange. */
const standIn = (cluster, id) => ({
  amqpUrl: AMQP_URL,
  exchange: cluster.env.EXCHANGE,
  instanceId: `${cluster.prefix}-${id}`,
  inflight: INFLIGHT,
});

const timed = async (fn) => {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - t) / 1e6 };
};

async function joinLatency(cluster, parallel) {
  const clients = [];
  for (let i = 0; i < parallel; i++) {
    clients.push(await connectClient(cluster.gateways[i % 3].url, `lat${i}`));
  }
  const joins = [];
  const leaves = [];
  // Each client joins and leaves rooms one after another; the clients run side by side.
  const perClient = Math.ceil(JOINS / clients.length);
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < perClient; k++) {
        const room = `lat${parallel}-${k % 20}-${i % 5}`;
        const j = await timed(() => c.ack('room:join', { room }));
        if (!j.value.ok) throw new Error(`join failed: ${JSON.stringify(j.value)}`);
        joins.push(j.ms);
        const l = await timed(() => c.ack('room:leave', { room }));
        if (!l.value.ok) throw new Error(`leave failed: ${JSON.stringify(l.value)}`);
        leaves.push(l.ms);
      }
    }),
  );
  for (const c of clients) c.close();
  return { join: summary(joins), leave: summary(leaves) };
}

async function readYourWrites(cluster) {
  const a = await connectClient(cluster.gateways[0].url, 'ryw-a');
  const b = await connectClient(cluster.gateways[1].url, 'ryw-b');
  const aId = (await a.ack('room:join', { room: 'ryw-probe' })).members[0].id;
  const stale = { joinAck: 0, membersAfterLeave: 0, statsAfterJoin: 0, statsAfterLeave: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const room = `ryw-${i}`;
    const ja = await a.ack('room:join', { room });
    if (!ja.ok) throw new Error(`join failed: ${JSON.stringify(ja)}`);
    const [jb, statsJoin] = await Promise.all([
      b.ack('room:join', { room }),
      fetch(`${cluster.api.url}/stats/rooms/${room}`).then((r) => r.json()),
    ]);
    if (!jb.members.some((m) => m.id === aId)) stale.joinAck++;
    if (!statsJoin.members?.some((m) => m.id === aId)) stale.statsAfterJoin++;
    const la = await a.ack('room:leave', { room });
    if (!la.ok) throw new Error(`leave failed: ${JSON.stringify(la)}`);
    const [mb, statsLeave] = await Promise.all([
      b.ack('room:members', { room }),
      fetch(`${cluster.api.url}/stats/rooms/${room}`).then((r) => r.json()),
    ]);
    if (mb.members.some((m) => m.id === aId)) stale.membersAfterLeave++;
    if (statsLeave.members?.some((m) => m.id === aId)) stale.statsAfterLeave++;
    await b.ack('room:leave', { room });
  }
  a.close();
  b.close();
  return { rounds: ROUNDS, stale };
}

/** The changes/s presence applies with `replicas` replicas. */
async function applyRate(replicas, sockets) {
  const cluster = await startCluster({
    label: 'bench-rate',
    gateways: 1,
    presenceReplicas: replicas,
  });
  try {
    const gw = await standInGateway(standIn(cluster, 'rate'));
    const rate = await gw.fill('rate', 0, sockets);
    await gw.close();
    return rate;
  } finally {
    await cluster.stop();
  }
}

/** Join ack time and size into a room of `size` stand-in users, against a room of 10. */
async function hugeRoom(cluster) {
  const gw = await standInGateway(standIn(cluster, 'huge'));
  try {
    const fillRate = await gw.fill('huge', 0, SOCKETS);
    await gw.fill('small', SOCKETS, SOCKETS + 10);
    const client = await connectClient(cluster.gateways[0].url, 'huge-joiner');
    const out = { fillRate };
    for (const room of ['small', 'huge']) {
      const times = [];
      let bytes = 0;
      let memberCount = 0;
      for (let i = 0; i < 100; i++) {
        const j = await timed(() => client.ack('room:join', { room }));
        if (!j.value.ok) throw new Error(`join failed: ${JSON.stringify(j.value)}`);
        times.push(j.ms);
        bytes = JSON.stringify(j.value).length;
        memberCount = j.value.memberCount;
        await client.ack('room:leave', { room });
      }
      out[room] = { memberCount, ackBytes: bytes, join: summary(times) };
    }
    client.close();
    return out;
  } finally {
    await gw.close();
  }
}

async function main() {
  const cluster = await startCluster({
    label: 'bench-presence',
    gateways: 3,
    gatewayEnv: LIFTED_LIMITS,
  });
  try {
    const latency = {};
    for (const parallel of [1, 30]) {
      log(`join latency, ${parallel} client(s) side by side...`);
      const l = (latency[`clients${parallel}`] = await joinLatency(cluster, parallel));
      log(`join ${JSON.stringify(l.join)} leave ${JSON.stringify(l.leave)} (ms)`);
    }
    log('read-your-writes rounds...');
    const ryw = await readYourWrites(cluster);
    log(`read-your-writes: ${JSON.stringify(ryw)}`);
    await waitFor(async () => (await cluster.getStats()).connections === 0, 5000, 'clients gone');
    log(`a room of ${SOCKETS} users...`);
    const huge = await hugeRoom(cluster);
    log(`join into a room of ${huge.huge.memberCount}: ${JSON.stringify(huge.huge)}`);
    log(`join into a room of ${huge.small.memberCount}: ${JSON.stringify(huge.small)}`);
    const rate = {};
    for (const replicas of [1, 2]) {
      rate[`replicas${replicas}`] = await applyRate(replicas, Math.min(SOCKETS, 20000));
      log(`presence with ${replicas} replica(s) applies ${rate[`replicas${replicas}`]} changes/s`);
    }
    const result = { label: args.label, latency, ryw, huge, rate };
    if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await cluster.stop();
  }
}

runMain(main, killAll);
