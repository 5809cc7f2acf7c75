#!/usr/bin/env node
// Chat semantics benchmark: `npm run bench:semantics` (writes docs/benchmarks/semantics.md and
// semantics.json). What a `room:read`, an edit and a reaction cost in server CPU beside a
// `message:send`: real processes (presence, stats, three gateways) on the machine's Redis and
// RabbitMQ, one room with a member on each gateway, `--ops` calls of each kind from those
// members, `--inflight` at a time. CPU is utime + stime from /proc of every server process
// (gateways, presence, stats, redis-server, RabbitMQ) over each phase, divided by its calls.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connectClient, killAll, REDIS_URL, startCluster, waitFor } from './lib/harness.mjs';
import { cpuDelta, findInfrastructure, snapshotCpu } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    ops: { type: 'string', default: '3000' },
    inflight: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'docs/benchmarks' },
  },
});
const OPS = Number(args.ops);
const INFLIGHT = Number(args.inflight);
const ROUNDS = Number(args.rounds);
const log = (line) => process.stdout.write(`[semantics-bench] ${line}\n`);

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
  const cluster = await startCluster({
    label: 'bench-sem',
    gateways: 3,
    gatewayEnv: {
      RATE_LIMIT_PER_SEC: '100000',
      RATE_LIMIT_BURST: '100000',
      RATE_LIMIT_EVENTS_PER_SEC: '100000',
      RATE_LIMIT_EVENTS_BURST: '100000',
      RATE_LIMIT_UNREAD_PER_10S: '1000000',
    },
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
      { name: 'stats', group: 'stats', pid: cluster.stats.child.pid },
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
    const groups = ['gateways', 'presence', 'stats', 'redis', 'rabbitmq'];
    const rows = Object.entries(results).map(([name, rs]) => ({
      name,
      usPerOp: median(rs.map((r) => r.usPerOp)),
      perSec: median(rs.map((r) => r.perSec)),
      groups: Object.fromEntries(groups.map((g) => [g, median(rs.map((r) => r.groups[g] ?? 0))])),
    }));
    const send = rows.find((r) => r.name === 'message:send').usPerOp;
    const f = (x) => x.toFixed(1);
    const md = [
      '# What reads, edits and reactions cost beside a send',
      '',
      `\`npm run bench:semantics\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: three gateways, presence and stats on the machine's Redis and RabbitMQ; one room with one member on each gateway (so a send or an update is delivered to 3 sockets on 3 gateways); ${OPS} calls of each kind, ${INFLIGHT} in flight, ${ROUNDS} rounds, medians. Server CPU is utime + stime of every server process over the phase divided by its calls (${messages} messages received in all).`,
      '',
      '| call | server CPU µs per call | × a send | gateways | presence | stats | Redis | RabbitMQ | calls/s |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| \`${r.name}\` | ${f(r.usPerOp)} | ${(r.usPerOp / send).toFixed(2)} | ${groups.map((g) => f(r.groups[g])).join(' | ')} | ${Math.round(r.perSec)} |`,
      ),
      '',
      "The `room:read` calls here find the cursor already at the room's last seq (the members' own sends put it there): the cost of the cursor script and the ack. A read that moves the cursor adds one publish of a `read` notice on the room's key, as a send's publish, delivered to the user's other connections. An update is a send's path with a heavier script (the message is found by id and rewritten in its new state) and the same publish, ordering and fan-out. `rooms:unread` is one script per room the user has a cursor in (here one) and a read of the user's index.",
      '',
    ].join('\n');
    writeFileSync(`${args.out}/semantics.md`, md);
    writeFileSync(
      `${args.out}/semantics.json`,
      JSON.stringify({ ops: OPS, inflight: INFLIGHT, rounds: ROUNDS, results }, null, 2) + '\n',
    );
    log(`wrote ${args.out}/semantics.md`);
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`[semantics-bench] ${err?.stack ?? err}\n`);
    killAll();
    process.exit(2);
  },
);
