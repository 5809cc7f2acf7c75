#!/usr/bin/env node
// Chat semantics benchmark: `npm run bench:semantics` (writes docs/benchmarks/semantics.md and
// semantics.json). What a `room:read`, an edit and a reaction cost in server CPU beside a
// `message:send`: real processes (presence, stats, three gateways) on the machine's Redis and
// RabbitMQ, one room with a member on each gateway, `--ops` calls of each kind from those
// members, `--inflight` at a time. CPU is utime + stime from /proc of every server process
// (gateways, presence, stats, redis-server, RabbitMQ) over each phase, divided by its calls.
import { parseArgs } from 'node:util';
import { DOCS_DIR, LIFTED_LIMITS } from './lib/constants.mjs';
import { connectClient, killAll, REDIS_URL, startCluster, waitFor } from './lib/harness.mjs';
import { log, runMain } from './lib/log.mjs';
import { cpuDelta, findInfrastructure, snapshotCpu } from './lib/proc.mjs';
import { writeSemantics } from './lib/report/semantics.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    ops: { type: 'string', default: '3000' },
    inflight: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: DOCS_DIR },
  },
});
const OPS = Number(args.ops);
const INFLIGHT = Number(args.inflight);
const ROUNDS = Number(args.rounds);

/** Runs `count` calls of `call(i)`, `INFLIGHT` at a time; throws on a refused one. */
async function drive(count, call) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const ack = await call(i);
      if (!ack.ok) throw new Error(`call ${i} refused: ${JSON.stringify(ack.error)}`);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}

async function main() {
  const startedAt = new Date().toISOString();
  const cluster = await startCluster({
    label: 'bench-sem',
    gateways: 3,
    gatewayEnv: LIFTED_LIMITS,
  });
  const clients = [];
  try {
    const { redisPid, beamPid } = findInfrastructure(REDIS_URL);
    const procs = [
      ...cluster.gateways.map((g, i) => ({
        name: `gateway${i + 1}`,
        group: 'gateways',
        pid: g.child.pid,
      })),
      ...cluster.presences.map((p, i) => ({
        name: `presence${i + 1}`,
        group: 'presence',
        pid: p.child.pid,
      })),
      { name: 'api', group: 'stats', pid: cluster.api.child.pid },
      ...(redisPid ? [{ name: 'redis', group: 'redis', pid: redisPid }] : []),
      ...(beamPid ? [{ name: 'rabbitmq', group: 'rabbitmq', pid: beamPid }] : []),
    ];
    const room = `sem-${cluster.prefix.slice(-6)}`;
    for (let i = 0; i < 3; i++) clients.push(await connectClient(cluster.gateways[i].url, `m${i}`));
    for (const c of clients) await c.ack('room:join', { room });
    // A message of each member's to edit and react to.
    const own = [];
    const by = (i) => clients[i % 3];
    const phases = {
      'message:send': (i) => by(i).ack('message:send', { room, text: `message ${i}` }),
      'room:read': (i) => by(i).ack('room:read', { room, seq: Number.MAX_SAFE_INTEGER - i }),
      'message:edit': (i) =>
        by(i).ack('message:edit', { room, id: own[i % 3].id, text: `edit ${i}` }),
      'message:react': (i) =>
        by(i).ack('message:react', {
          room,
          id: own[(i + 1) % 3].id,
          emoji: `e${i % 5}`,
          on: i % 10 < 5,
        }),
      'rooms:unread': (i) => by(i).ack('rooms:unread', {}),
    };
    const results = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of Object.entries(phases)) {
        // Fresh targets: retention (1000 messages) has let the earlier ones go.
        for (let i = 0; i < 3; i++)
          own[i] = await clients[i].ack('message:send', { room, text: 'target' });
        await drive(200, call); // warm-up
        const before = snapshotCpu(procs);
        const started = process.hrtime.bigint();
        await drive(OPS, call);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        // Let the last deliveries land before the CPU is read.
        await new Promise((done) => setTimeout(done, 300));
        const { per, total } = cpuDelta(before, snapshotCpu(procs));
        const groups = {};
        for (const p of procs) groups[p.group] = (groups[p.group] ?? 0) + (per[p.name] ?? 0) / OPS;
        (results[name] ??= []).push({ usPerOp: total / OPS, groups, perSec: (OPS / ms) * 1000 });
        log(
          `round ${round + 1} ${name}: ${(total / OPS).toFixed(1)} µs/op, ${Math.round((OPS / ms) * 1000)}/s`,
        );
      }
    }
    const messages = clients.reduce((n, c) => n + c.messages.length, 0);
    await waitFor(() => clients.every((c) => c.updates.length > 0), 5000, 'updates delivered');
    const result = { startedAt, ops: OPS, inflight: INFLIGHT, rounds: ROUNDS, messages, results };
    log(`wrote ${(await writeSemantics(args.out, result)).join(', ')}`);
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}

runMain(main, killAll);
