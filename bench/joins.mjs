#!/usr/bin/env node
// `npm run bench:joins`: the join storm. N connections spread over a system's 3 instances each
// join R rooms at once (rooms of R members spread over the instances, as W2's), then each leaves
// them at once. For each system: joins (and leaves) acked per second over the storm, each ack's
// latency from its emit, and the CPU each process took per join (from /proc, the server processes
// only: the clients run in this process and are not counted). Systems interleave in each round;
// figures are medians over the rounds. Writes docs/benchmarks/joins.json and joins.md.
// Q is O whose storm rooms share no members (a room rule with presence: false): no `presence`
// notice, as B sends none, where O's rooms of 10 tell each join to the other 9 members.
//   node bench/joins.mjs [--systems O,Q,B] [--before DIR] [--connections 2000] [--rooms 10]
//                        [--repeats 3] [--out DIR]
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { connectOne, pool } from './lib/clients.mjs';
import { DOCS_DIR, ROOMCAST, SYSTEMS } from './lib/constants.mjs';
import { analyse } from './lib/profile.mjs';
import { writePretty } from './lib/report/write.mjs';
import { REDIS_URL, killAll } from './lib/harness.mjs';
import { cpuDelta, findInfrastructure, snapshotCpu, sumUs, writeCalls } from './lib/proc.mjs';
import { round, roundedSummary, spread } from './lib/stats.mjs';
import { startSystem } from './lib/systems.mjs';
import { shortHead } from './lib/meta.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    systems: { type: 'string', default: 'O,Q,B' },
    before: { type: 'string' },
    connections: { type: 'string', default: '2000' },
    rooms: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '3' },
    out: { type: 'string', default: DOCS_DIR },
    // A directory: instance 1 runs under node --cpu-prof; its self and inclusive time in each
    // storm are printed.
    profile: { type: 'string' },
  },
});
const CONNECTIONS = Number(args.connections);
const ROOMS_PER_CONN = Number(args.rooms);
const REPEATS = Number(args.repeats);
const systems = args.systems.split(',').filter(Boolean);
if (args.before && !systems.includes('P')) systems.splice(1, 0, 'P');
const before = args.before ? resolve(args.before) : undefined;
/** Rooms of ROOMS_PER_CONN members each: as many rooms as connections. */
const ROOM_COUNT = CONNECTIONS;
/** Q: O, its storm rooms without member notices (PROTOCOL.md's room rules, presence: false). */
const QUIET_LABEL = 'Q: roomcast, rooms without member notices (presence: false, as B)';
/** The system a kind starts: Q is O. */
const systemOf = (kind) => (kind === 'Q' ? 'O' : kind);
const labelOf = (kind) => (kind === 'Q' ? QUIET_LABEL : SYSTEMS[kind].label);
/** The last storm's window of each event, for the profile. */
const windows = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stdout.write(`[joins] ${s}\n`);

/** Connection i's k-th room: rooms of ROOMS_PER_CONN members, on every instance. */
const roomOf = (tag, i, k) => `${tag}-r${(i + k * (ROOM_COUNT / ROOMS_PER_CONN)) % ROOM_COUNT}`;

/**
 * Every socket emits `event` for each of its rooms at once (back to back, none awaited); resolves
 * with the storm's length, each ack's latency and the acks that were not ok.
 */
async function storm(socks, tag, event) {
  const latencies = [];
  const failures = new Map();
  const t0 = performance.now();
  await Promise.all(
    socks.flatMap((sock, i) =>
      Array.from(
        { length: ROOMS_PER_CONN },
        (_, k) =>
          new Promise((resolve, reject) => {
            const sent = performance.now();
            const timer = setTimeout(() => reject(new Error(`${event}: no ack in 120 s`)), 120000);
            sock.emit(event, { room: roomOf(tag, i, k) }, (ack) => {
              clearTimeout(timer);
              latencies.push(performance.now() - sent);
              if (!ack?.ok) {
                const code = ack?.error?.code ?? 'no ack body';
                failures.set(code, (failures.get(code) ?? 0) + 1);
              }
              resolve();
            });
          }),
      ),
    ),
  );
  return { ms: performance.now() - t0, latencies, failures: Object.fromEntries(failures) };
}

/** The machine's monotonic clock in µs: a CPU profile's timestamps. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

async function measure(sys, socks, tag, event) {
  const cpu0 = snapshotCpu(sys.procs);
  const instances = sys.procs.filter((p) => /^(gateway|server)/.test(p.name));
  const writes = () => instances.reduce((a, p) => a + (writeCalls(p.pid) ?? NaN), 0);
  const writes0 = writes();
  const from = monoUs();
  const s = await storm(socks, tag, event);
  windows[event] = { from, to: monoUs() };
  const cpu = cpuDelta(cpu0, snapshotCpu(sys.procs));
  const n = socks.length * ROOMS_PER_CONN;
  // System calls that write (to clients, Redis and the broker) per join, over the 3 instances.
  const writesPerOp = round((writes() - writes0) / n, 3);
  const perOp = (us) => round(us / n / 1000, 4);
  return {
    ops: n,
    perSec: round(n / (s.ms / 1000), 1),
    stormMs: round(s.ms, 1),
    ackMs: roundedSummary(s.latencies),
    failures: s.failures,
    writesPerOp,
    cpuMsPerOp: {
      gateways: perOp(sumUs(cpu.per, 'gateway') + sumUs(cpu.per, 'server')),
      presence: perOp(sumUs(cpu.per, 'presence')),
      api: perOp(sumUs(cpu.per, 'api')),
      redis: perOp(sumUs(cpu.per, 'redis')),
      rabbitmq: perOp(sumUs(cpu.per, 'rabbitmq')),
      total: perOp(cpu.total),
    },
  };
}

async function runOne(kind, round, infra) {
  const runId = `${Date.now().toString(36)}${round}`;
  const gatewayArgs = args.profile
    ? { 0: ['--cpu-prof', '--cpu-prof-dir', resolve(args.profile), '--cpu-prof-interval', '200'] }
    : {};
  const tag = `js${runId}${kind}`;
  // Q's rooms, and only they, under a rule that keeps their members to themselves.
  const rulesDir = kind === 'Q' ? mkdtempSync(join(tmpdir(), 'roomcast-bench-rules-')) : undefined;
  const env = {};
  if (rulesDir) {
    env.ROOM_RULES = join(rulesDir, 'rules.json');
    writeFileSync(env.ROOM_RULES, JSON.stringify({ rules: { [tag]: { presence: false } } }));
  }
  try {
    const sys = await startSystem(systemOf(kind), {
      runId,
      redisUrl: REDIS_URL,
      infra,
      before,
      gatewayArgs,
      env,
    });
    const socks = [];
    try {
      await pool(
        Array.from({ length: CONNECTIONS }, (_, i) => i),
        200,
        async (i) => {
          socks[i] = await connectOne(sys.urls[i % sys.urls.length], `${tag}-${i}`);
        },
      );
      // Presence has every connection before the storm starts.
      await sleep(1500);
      const joins = await measure(sys, socks, tag, 'room:join');
      // Lingers and timers of the joins' tail run out apart from the leaves.
      await sleep(1500);
      const leaves = await measure(sys, socks, tag, 'room:leave');
      if (!sys.alive()) throw new Error(`${kind}: a process died\n${sys.logs()}`);
      if (args.profile) await printProfile(sys, kind);
      return { joins, leaves };
    } finally {
      for (const s of socks) s?.close();
      await sys.stop();
    }
  } finally {
    if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
  }
}

/** Instance 1's profile of the whole run (connects, joins, leaves): its top frames. */
async function printProfile(sys, kind) {
  const name = ROOMCAST.includes(systemOf(kind)) ? 'gateway1' : 'server1';
  const pid = sys.procs.find((p) => p.name === name).pid;
  await sys.exitCleanly(name);
  const dir = resolve(args.profile);
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
  if (!file) return log(`no profile of ${name} (pid ${pid}) in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  // The storms' windows beside the profile, for a look of one's own at its samples.
  writeFileSync(join(dir, `${file}.windows.json`), JSON.stringify(windows));
  const pct = (x) => `${(x.share * 100).toFixed(1)}%`;
  for (const [event, w] of Object.entries(windows)) {
    const a = analyse(profile, w.from, w.to);
    log(
      `${kind} ${name} ${event} storm, ${join(dir, file)}: busy ${(a.busyShare * 100).toFixed(0)}%`,
    );
    log(
      `categories: ${Object.entries(a.categories)
        .sort((x, y) => y[1] - x[1])
        .map(([c, v]) => `${c} ${(v * 100).toFixed(1)}%`)
        .join(', ')}`,
    );
    log(`self:\n${a.self.map((x) => `  ${pct(x)} ${x.name}`).join('\n')}`);
    log(`inclusive:\n${a.inclusive.map((x) => `  ${pct(x)} ${x.name}`).join('\n')}`);
  }
}

function spreadOf(rounds, pick) {
  const s = spread(rounds.map(pick));
  return { median: round(s.median, 4), min: round(s.min, 4), max: round(s.max, 4), n: s.n };
}

function aggregate(rounds) {
  const of = (phase) => ({
    perSec: spreadOf(rounds, (r) => r[phase].perSec),
    ackP50Ms: spreadOf(rounds, (r) => r[phase].ackMs.p50),
    ackP99Ms: spreadOf(rounds, (r) => r[phase].ackMs.p99),
    gatewayCpuMsPerOp: spreadOf(rounds, (r) => r[phase].cpuMsPerOp.gateways),
    gatewayWritesPerOp: spreadOf(rounds, (r) => r[phase].writesPerOp),
    presenceCpuMsPerOp: spreadOf(rounds, (r) => r[phase].cpuMsPerOp.presence),
    redisCpuMsPerOp: spreadOf(rounds, (r) => r[phase].cpuMsPerOp.redis),
    rabbitmqCpuMsPerOp: spreadOf(rounds, (r) => r[phase].cpuMsPerOp.rabbitmq),
    totalCpuMsPerOp: spreadOf(rounds, (r) => r[phase].cpuMsPerOp.total),
    failures: rounds.reduce(
      (a, r) => a + Object.values(r[phase].failures).reduce((x, y) => x + y, 0),
      0,
    ),
  });
  const joins = of('joins');
  return {
    // The figures the load model reads (bench/scaling-model.mjs), medians over the rounds.
    joinsPerSec: joins.perSec.median,
    gatewayCpuMsPerJoin: joins.gatewayCpuMsPerOp.median,
    presenceCpuMsPerJoin: joins.presenceCpuMsPerOp.median,
    ackP50Ms: joins.ackP50Ms.median,
    ackP99Ms: joins.ackP99Ms.median,
    joins,
    leaves: of('leaves'),
  };
}

function markdown(result) {
  const kinds = Object.keys(result.systems);
  const row = (label, f) => `| ${label} | ${kinds.map((k) => f(result.systems[k])).join(' | ')} |`;
  const fig = (s) => (s.median === null ? 'n/a' : `${s.median} (${s.min}–${s.max})`);
  const lines = [
    '# Join storm',
    '',
    `\`npm run bench:joins\`, ${result.at} (${result.head}): ${CONNECTIONS} connections spread over ` +
      `3 instances each join ${ROOMS_PER_CONN} rooms at once (rooms of ${ROOMS_PER_CONN} members on ` +
      `every instance), then leave them at once; ${REPEATS} rounds, systems interleaved; ` +
      'median (min–max) over the rounds. CPU is of the server processes only, per join or leave.',
    '',
    `| figure | ${kinds.map(labelOf).join(' | ')} |`,
    `| --- | ${kinds.map(() => '---:').join(' | ')} |`,
  ];
  for (const phase of ['joins', 'leaves']) {
    const one = phase.slice(0, -1);
    lines.push(
      row(`${phase} acked per second`, (s) => fig(s[phase].perSec)),
      row(`${one} ack p50 (ms)`, (s) => fig(s[phase].ackP50Ms)),
      row(`${one} ack p99 (ms)`, (s) => fig(s[phase].ackP99Ms)),
      row(`gateway CPU per ${one} (ms, all instances)`, (s) => fig(s[phase].gatewayCpuMsPerOp)),
      row(`gateway write system calls per ${one} (all instances)`, (s) =>
        fig(s[phase].gatewayWritesPerOp),
      ),
      row(`presence CPU per ${one} (ms)`, (s) => fig(s[phase].presenceCpuMsPerOp)),
      row(`Redis CPU per ${one} (ms)`, (s) => fig(s[phase].redisCpuMsPerOp)),
      row(`RabbitMQ CPU per ${one} (ms)`, (s) => fig(s[phase].rabbitmqCpuMsPerOp)),
      row(`all servers' CPU per ${one} (ms)`, (s) => fig(s[phase].totalCpuMsPerOp)),
      row(`${phase} not ok`, (s) => String(s[phase].failures)),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  for (const k of systems) if (!SYSTEMS[systemOf(k)]) throw new Error(`unknown system ${k}`);
  if (ROOM_COUNT % ROOMS_PER_CONN !== 0)
    throw new Error('--connections must be a multiple of --rooms');
  const infra = findInfrastructure(REDIS_URL);
  const rounds = Object.fromEntries(systems.map((k) => [k, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const kind of systems) {
      const one = await runOne(kind, r, infra);
      log(
        `round ${r + 1} ${kind}: ${one.joins.perSec} joins/s (p99 ${one.joins.ackMs.p99} ms, ` +
          `gateways ${one.joins.cpuMsPerOp.gateways} ms CPU/join, ${one.joins.writesPerOp} writes/join, presence ${one.joins.cpuMsPerOp.presence}), ` +
          `${one.leaves.perSec} leaves/s (gateways ${one.leaves.cpuMsPerOp.gateways} ms CPU/leave)` +
          `${Object.keys(one.joins.failures).length ? `; join failures ${JSON.stringify(one.joins.failures)}` : ''}`,
      );
      rounds[kind].push(one);
    }
  }
  const result = {
    at: new Date().toISOString(),
    head: shortHead(),
    setup: {
      connections: CONNECTIONS,
      roomsPerConnection: ROOMS_PER_CONN,
      repeats: REPEATS,
      before,
    },
    systems: Object.fromEntries(systems.map((k) => [k, aggregate(rounds[k])])),
    rounds,
  };
  await writePretty(join(args.out, 'joins.json'), JSON.stringify(result));
  await writePretty(join(args.out, 'joins.md'), markdown(result));
  log(`wrote ${join(args.out, 'joins.json')} and joins.md`);
  process.stdout.write(markdown(result));
}

main()
  .catch((err) => {
    process.stderr.write(`[joins] ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => killAll());
