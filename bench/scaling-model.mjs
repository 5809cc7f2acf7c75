#!/usr/bin/env node
// The load model: `npm run bench:model` (seconds, no servers). It checks the arithmetic of
// docs/scaling.md's plan with a deterministic simulation (seeded PRNG):
//   1. rooms: sizes drawn from a truncated power law (most rooms 2-10 members, a few huge) until
//      every connection is in `--rooms-per-conn` rooms;
//   2. placement: each member's connection on a gateway drawn at random (sticky load balancing
//      spreads connections evenly, not rooms), so a room is bound on every gateway one of its
//      members sits on;
//   3. traffic: every member sends at the same rate, except that a room above `--send-cap`
//      members sends as one of that size (people do not write faster because more read), scaled
//      so that deliveries to clients total `--deliveries`; presence changes from sessions of
//      `--session-min` minutes (connect, a join per room, a leave per room, disconnect);
//   4. binding churn with lingering bindings: a leave that is a brief absence (`--rejoin-share`,
//      back within `--rejoin-within-s`) costs no operation when the linger (`--linger-s`) covers
//      it; every leave keeps its room bound for up to the linger, its messages reaching the
//      gateway unused;
//   5. per-gateway bindings, connections and CPU; k broker clusters (`--clusters`, or the least
//      k that fits): rooms hashed to clusters, presence's queue one per cluster, and per cluster
//      publishes, queue deliveries, binding churn and presence messages; appends per Redis group
//      (64 groups: a room's keys live in one) and per master;
//   6. the instances each needs from the budget bench/scaling.mjs measured (its JSON; built-in
//      defaults for a figure it lacks, flagged), the joins' CPU from docs/benchmarks/joins.json
//      when it exists (else the budget's, flagged), and the fixed ceilings (a cluster's binding
//      changes, its presence queue, a gateway's channel and queue, one Redis group), each with the
//      measured figure it is held against and where that figure comes from.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { medianOf as med } from './lib/stats.mjs';
import {
  bindOpsPerSec as bindOps,
  leastClusters,
  lingerCovers,
  lingerIdleSeconds,
  lingerSaving,
  splitByCluster,
} from './lib/scaling/model.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    budget: { type: 'string', default: 'docs/benchmarks/scaling.json' },
    joins: { type: 'string', default: 'docs/benchmarks/joins.json' },
    'joins-system': { type: 'string', default: 'O' },
    linger: { type: 'string', default: 'docs/benchmarks/linger.json' },
    scales: { type: 'string', default: '1000000:100000,10000000:1000000' },
    'rooms-per-conn': { type: 'string', default: '3' },
    alpha: { type: 'string', default: '2.2' },
    'max-room': { type: 'string', default: '50000' },
    'send-cap': { type: 'string', default: '100' },
    'session-min': { type: 'string', default: '30' },
    'linger-s': { type: 'string', default: '5' },
    'rejoin-share': { type: 'string', default: '0.5' },
    'rejoin-within-s': { type: 'string', default: '2' },
    clusters: { type: 'string', default: 'auto' },
    headroom: { type: 'string' },
    'broker-node-cores': { type: 'string', default: '2' },
    'gateway-mem-gib': { type: 'string', default: '2' },
    'gateway-fds': { type: 'string', default: '1048576' },
    utilisation: { type: 'string', default: '0.6' },
    'bind-ceiling': { type: 'string' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
    'write-doc': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`usage: npm run bench:model -- [options]
  --budget FILE          the sweep's JSON (default docs/benchmarks/scaling.json)
  --joins FILE           the joins bench's JSON (default docs/benchmarks/joins.json): gateway and
                         presence CPU per join; when absent, the budget's CPU per change (flagged)
  --joins-system S       which system of it (default O)
  --linger FILE          bench:linger's JSON (default docs/benchmarks/linger.json): the time away
                         whose traffic a covered rejoin leaves unused
  --scales C:D,...       connections:deliveries/s (default 1000000:100000,10000000:1000000)
  --rooms-per-conn N     rooms each connection is in (default 3)
  --alpha A              room sizes ~ s^-A on [2, --max-room] (default 2.2, max 50000)
  --send-cap N           a room above N members sends as one of N (default 100)
  --session-min N        mean session length, for presence changes and bind churn (default 30)
  --linger-s S           UNBIND_LINGER_MS in seconds (default 5, the gateway's default)
  --rejoin-share R       share of leaves that are a brief absence: the member joins the same room
                         on the same gateway again (reconnect, reload, tab switch) (default 0.5)
  --rejoin-within-s S    such an absence lasts up to S seconds, evenly spread (default 2, as in
                         bench:linger)
  --clusters K|auto      RabbitMQ clusters rooms are hashed over (default auto: the least K whose
                         busiest cluster stays within --headroom of every measured ceiling)
  --headroom H           the share of a measured ceiling a plan may use (default --utilisation)
  --broker-node-cores N  cores of one RabbitMQ node (default 2; the measured cluster's 3 nodes
                         shared 2 cores)
  --gateway-mem-gib N    memory of one gateway process (default 2)
  --gateway-fds N        its open-file limit (default 1048576, a container's usual nofile; the
                         sweep's machine had 20000)
  --utilisation U        the share of each instance's CPU the plan uses (default 0.6)
  --bind-ceiling N       one cluster's binding changes/s, instead of the lower of the measured
                         rate and what --broker-node-cores allow at the measured CPU per op
  --seed N               PRNG seed (default 42)
  --json                 the result as JSON instead of tables
  --markdown             the block docs/scaling.md shows (between its bench:model markers)
  --write-doc FILE       replace that block in FILE (npm run bench:model -- --write-doc docs/scaling.md)
`);
  process.exit(0);
}

/** A numeric option, or exit 2 naming it when it is not a number in [min, max]. */
function num(name, { min = -Infinity, max = Infinity, int = false } = {}) {
  const raw = args[name];
  const x = Number(raw);
  if (
    raw === undefined ||
    raw.trim() === '' ||
    !Number.isFinite(x) ||
    x < min ||
    x > max ||
    (int && !Number.isInteger(x))
  ) {
    process.stderr.write(
      `bench:model: --${name} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  return x;
}

const A = {
  roomsPerConn: num('rooms-per-conn', { min: 1 }),
  alpha: num('alpha', { min: 1.01 }),
  maxRoom: num('max-room', { min: 2, int: true }),
  sendCap: num('send-cap', { min: 1 }),
  sessionS: num('session-min', { min: 0.01 }) * 60,
  lingerS: num('linger-s', { min: 0 }),
  rejoinShare: num('rejoin-share', { min: 0, max: 1 }),
  rejoinWithinS: num('rejoin-within-s', { min: 0 }),
  clusters: args.clusters === 'auto' ? 'auto' : num('clusters', { min: 1, max: 1000, int: true }),
  brokerNodeCores: num('broker-node-cores', { min: 0.1 }),
  gatewayMemGiB: num('gateway-mem-gib', { min: 0.25 }),
  gatewayFds: num('gateway-fds', { min: 1 }),
  util: num('utilisation', { min: 0.01, max: 1 }),
  bindCeiling: args['bind-ceiling'] === undefined ? null : num('bind-ceiling', { min: 1 }),
  seed: num('seed', { int: true }),
};
A.headroom = args.headroom === undefined ? A.util : num('headroom', { min: 0.01, max: 1 });

/**
 * Figures the model cannot run without. A figure missing from the JSON falls back to these, and
 * the output says which did: they are this machine's earlier published figures
 * (docs/benchmarks/README.md and presence.md), not a measurement of this run.
 */
const DEFAULTS = {
  gatewayChatKiBPerConn: 14.1,
  gatewayBaselineRssMiB: 120,
  gatewayFdsPerConn: 1,
  gatewayIdleCoresPer1kConns: 0.002,
  gatewayUsPerSend: 220,
  gatewayUsPerBrokerDelivery: 140,
  gatewayUsPerClientDelivery: 22,
  gatewayUsPerChange: 1500,
  brokerUsPerPublish: 50,
  brokerUsPerQueueDelivery: 58,
  brokerUsPerBindOpCluster3: 1000,
  brokerUsPerChangeCluster3: 300,
  rawBindOpsPerSecPerChannelCluster3: 500,
  rawBindOpsPerSecCluster3: 500,
  classicQueueMsgsPerSec: 15000,
  quorumQueueMsgsPerSec: 5000,
  presenceCeilingPerCore: 5000,
  redisUsPerAppend: 32,
  redisUsPerChange: 33,
};
const GROUPS = 64; // libs/store/src/redis/keys.ts: a room's keys live in one of 64 groups

/**
 * The budget: each figure with where it came from (`from`, shown beside every ceiling), the
 * JSON's field or the built-in default.
 */
function loadBudget(file) {
  const used = {};
  const from = {};
  const defaulted = [];
  let json = null;
  if (existsSync(file)) json = JSON.parse(readFileSync(file, 'utf8'));
  const name = file.replace(/^.*\//, '');
  const f = json?.budget?.figures ?? {};
  const pick = (key, value, field = `budget.figures.${key}`) => {
    if (value === null || value === undefined || !Number.isFinite(value)) {
      used[key] = DEFAULTS[key];
      from[key] = 'built-in default';
      defaulted.push(key);
    } else {
      used[key] = value;
      from[key] = `${name} ${field}`;
    }
  };
  const b = json?.budget ?? {};
  // Memory per connection: the larger of heap and RSS growth (RSS can grow less than the heap
  // where the allocator had pages to spare before the connections came).
  pick(
    'gatewayChatKiBPerConn',
    f.gatewayChatRssKiBPerConn === null || f.gatewayChatRssKiBPerConn === undefined
      ? null
      : Math.max(f.gatewayChatRssKiBPerConn, f.gatewayChatHeapKiBPerConn ?? 0),
    'budget.figures.gatewayChat{Rss,Heap}KiBPerConn',
  );
  pick('gatewayBaselineRssMiB', f.gatewayBaselineRssMiB);
  pick('gatewayFdsPerConn', f.gatewayFdsPerConn);
  pick('gatewayIdleCoresPer1kConns', f.gatewayIdleCoresPer1kConns);
  pick('gatewayUsPerSend', f.gatewayUsPerSend);
  pick('gatewayUsPerBrokerDelivery', f.gatewayUsPerBrokerDelivery);
  pick('gatewayUsPerClientDelivery', f.gatewayUsPerClientDelivery);
  pick('gatewayUsPerChange', f.gatewayUsPerChange);
  pick('brokerUsPerPublish', f.brokerUsPerPublish);
  pick('brokerUsPerQueueDelivery', f.brokerUsPerQueueDelivery);
  pick('brokerUsPerBindOpCluster3', f.brokerUsPerBindOpCluster3);
  pick(
    'brokerUsPerChangeCluster3',
    med(b.presence?.find((p) => p.label.includes('cluster'))?.brokerUsPerChange),
    'budget.presence[cluster].brokerUsPerChange',
  );
  pick('rawBindOpsPerSecPerChannelCluster3', f.rawBindOpsPerSecPerChannelCluster3);
  pick('rawBindOpsPerSecCluster3', f.rawBindOpsPerSecCluster3);
  pick('classicQueueMsgsPerSec', f.classicQueueMsgsPerSec);
  pick('quorumQueueMsgsPerSec', f.quorumQueueMsgsPerSec);
  pick('presenceCeilingPerCore', f.presenceCeilingPerCore);
  pick(
    'redisUsPerAppend',
    f.redisAppendsPerMasterCore ? 1e6 / f.redisAppendsPerMasterCore : null,
    'budget.figures.redisAppendsPerMasterCore',
  );
  pick(
    'redisUsPerChange',
    med(b.presence?.[0]?.redisUsPerChange),
    'budget.presence[0].redisUsPerChange',
  );
  return { file: json ? file : null, measuredAt: json?.meta?.startedAt, used, from, defaulted };
}

/**
 * The joins bench (docs/benchmarks/joins.json, `systems[S]`): gateway and presence CPU per join.
 * When the file or a figure is missing, the budget's CPU per presence change stands in, flagged.
 */
function loadJoins(file, system, budget) {
  const json = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  const s = json?.systems?.[system];
  const name = file.replace(/^.*\//, '');
  const ok = (x) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const out = { file: json ? file : null, system, fallback: [] };
  if (ok(s?.gatewayCpuMsPerJoin)) {
    out.gatewayUsPerChange = s.gatewayCpuMsPerJoin * 1000;
    out.gatewayFrom = `${name} systems.${system}.gatewayCpuMsPerJoin`;
  } else {
    out.gatewayUsPerChange = budget.used.gatewayUsPerChange;
    out.gatewayFrom = `${budget.from.gatewayUsPerChange} (no ${name} systems.${system}.gatewayCpuMsPerJoin)`;
    out.fallback.push('gatewayCpuMsPerJoin');
  }
  if (ok(s?.presenceCpuMsPerJoin)) {
    out.presencePerCore = 1000 / s.presenceCpuMsPerJoin;
    out.presenceFrom = `${name} systems.${system}.presenceCpuMsPerJoin`;
  } else {
    out.presencePerCore = budget.used.presenceCeilingPerCore;
    out.presenceFrom = `${budget.from.presenceCeilingPerCore} (no ${name} systems.${system}.presenceCpuMsPerJoin)`;
    out.fallback.push('presenceCpuMsPerJoin');
  }
  for (const k of ['joinsPerSec', 'ackP50Ms', 'ackP99Ms']) out[k] = ok(s?.[k]) ? s[k] : null;
  return out;
}

/**
 * bench:linger's figures: the seconds of a room's traffic one reconnect covered by the linger left
 * unused (unused entries beyond the no-linger run's, per reconnect, over the room's send rate),
 * from its longest linger; and its binding operations per linger, which the model's saving is
 * checked against. Falls back to half the rejoin window (absences spread evenly), flagged.
 */
function loadLinger(file) {
  const json = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  const results = json?.results ?? [];
  const none = results.find((r) => r.lingerMs === 0);
  const longest = [...results].sort((x, y) => y.lingerMs - x.lingerMs)[0];
  const name = file.replace(/^.*\//, '');
  if (!none || !longest || longest.lingerMs === 0 || !json.setup?.rooms || !json.setup?.seconds) {
    return {
      file: null,
      awayS: A.rejoinWithinS / 2,
      awayFrom: `built-in: half of --rejoin-within-s (no ${name})`,
      runs: [],
    };
  }
  const perRoomRate = longest.sends / json.setup.seconds / json.setup.rooms;
  const awayS = (longest.unusedEntries - none.unusedEntries) / longest.reconnects / perRoomRate;
  return {
    file,
    at: json.at,
    awayS,
    awayFrom: `${name} results[lingerMs=${longest.lingerMs}]: (unusedEntries ${longest.unusedEntries} − ${none.unusedEntries}) / ${longest.reconnects} reconnects / ${perRoomRate.toFixed(2)} msgs/s per room`,
    runs: results.map((r) => ({
      lingerMs: r.lingerMs,
      reconnects: r.reconnects,
      bindingOps: r.bindingOps,
    })),
  };
}

/** mulberry32: a small, fast, seedable PRNG (the same plan on every machine). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A room size from the power law s^-alpha on [2, max] (inverse CDF of the continuous law). */
function roomSize(rand) {
  const { alpha, maxRoom } = A;
  const lo = 2;
  const e = 1 - alpha;
  const u = rand();
  const x = Math.pow(Math.pow(lo, e) + u * (Math.pow(maxRoom + 1, e) - Math.pow(lo, e)), 1 / e);
  return Math.min(maxRoom, Math.floor(x));
}

/** The rooms of `connections` online connections: sizes, until the memberships are placed. */
function drawRooms(connections, rand) {
  const memberships = connections * A.roomsPerConn;
  const sizes = [];
  let placed = 0;
  while (placed < memberships) {
    const s = Math.min(roomSize(rand), memberships - placed);
    if (s < 2) break;
    sizes.push(s);
    placed += s;
  }
  return { sizes: Int32Array.from(sizes), memberships: placed };
}

/**
 * Places every member on one of `g` gateways and totals per gateway. `rate[r]` is room r's
 * sends/s. Returns per-gateway arrays, per-room single-member pairs and broker-wide totals.
 */
function place(sizes, rate, g, rand) {
  const bindings = new Float64Array(g);
  const clientDel = new Float64Array(g);
  const brokerDel = new Float64Array(g);
  const sends = new Float64Array(g);
  const members = new Float64Array(g);
  const singlesGw = new Float64Array(g);
  const singlesRateGw = new Float64Array(g);
  const local = new Int32Array(g);
  const touched = [];
  let queueDeliveries = 0;
  let singles = 0;
  let fanoutWeighted = 0;
  let maxFanout = 0;
  const bound = new Int32Array(sizes.length);
  const singlesRoom = new Int32Array(sizes.length);
  for (let r = 0; r < sizes.length; r++) {
    const s = sizes[r];
    touched.length = 0;
    for (let k = 0; k < s; k++) {
      const gw = Math.floor(rand() * g);
      if (local[gw]++ === 0) touched.push(gw);
    }
    const f = touched.length;
    bound[r] = f;
    queueDeliveries += rate[r] * f;
    fanoutWeighted += rate[r] * f;
    if (f > maxFanout) maxFanout = f;
    for (const gw of touched) {
      const l = local[gw];
      bindings[gw]++;
      members[gw] += l;
      clientDel[gw] += rate[r] * l;
      brokerDel[gw] += rate[r];
      sends[gw] += (rate[r] * l) / s;
      if (l === 1) {
        singles++;
        singlesRoom[r]++;
        singlesGw[gw]++;
        singlesRateGw[gw] += rate[r];
      }
      local[gw] = 0;
    }
  }
  return {
    bindings,
    clientDel,
    brokerDel,
    sends,
    members,
    singlesGw,
    singlesRateGw,
    queueDeliveries,
    singles,
    singlesRoom,
    fanoutWeighted,
    maxFanout,
    bound,
  };
}

const sum = (a) => a.reduce((x, y) => x + y, 0);
const max = (a) => a.reduce((x, y) => (y > x ? y : x), -Infinity);
const mean = (a) => sum(a) / a.length;

/** The plan for `connections` online connections and `deliveries` deliveries/s to clients. */
function plan(connections, deliveries, budget, joins, linger) {
  const B = budget.used;
  const rand = prng(A.seed);
  const { sizes, memberships } = drawRooms(connections, rand);
  const weight = Float64Array.from(sizes, (s) => Math.min(s, A.sendCap));
  // Deliveries of room r = sends_r × size_r; scale the sends so that they total `deliveries`.
  const raw = sum(Array.from(sizes, (s, r) => weight[r] * s));
  const rate = Float64Array.from(weight, (w) => (w * deliveries) / raw);
  const sendsPerSec = sum(rate);
  // Presence: a session is a connect, a join per room, a leave per room and a disconnect.
  const changesPerSec = (connections * (2 + 2 * A.roomsPerConn)) / A.sessionS;

  // The linger: the share of single-member pairs' binding operations it saves, and the seconds
  // per leave a room stays bound with no member (its traffic then reaches the gateway unused).
  const lingerArgs = {
    rejoinShare: A.rejoinShare,
    rejoinWithinS: A.rejoinWithinS,
    lingerS: A.lingerS,
    awayS: linger.awayS,
  };
  const saving = lingerSaving(lingerArgs);
  const idleS = lingerIdleSeconds(lingerArgs);

  // Gateways: enough for memory, file descriptors and CPU on the busiest one; placement depends
  // on the count, so iterate until it settles.
  const util = A.util;
  const gwMemConns =
    ((A.gatewayMemGiB * 1024 - B.gatewayBaselineRssMiB) * 1024) / B.gatewayChatKiBPerConn;
  const gwFdConns = A.gatewayFds / B.gatewayFdsPerConn;
  let g = Math.max(1, Math.ceil(connections / Math.min(gwMemConns * util, gwFdConns)));
  let p;
  let gwCores;
  let unusedGw;
  for (let i = 0; i < 8; i++) {
    p = place(sizes, rate, g, prng(A.seed + 1));
    const conns = Float64Array.from(p.members, (m) => m / A.roomsPerConn);
    unusedGw = Float64Array.from(p.singlesRateGw, (x) => (x * idleS) / A.sessionS);
    gwCores = conns.map(
      (c, k) =>
        (B.gatewayIdleCoresPer1kConns * c) / 1000 +
        (p.sends[k] * B.gatewayUsPerSend +
          (p.brokerDel[k] + unusedGw[k]) * B.gatewayUsPerBrokerDelivery +
          p.clientDel[k] * B.gatewayUsPerClientDelivery +
          (changesPerSec / g) * joins.gatewayUsPerChange) /
          1e6,
    );
    const needCpu = Math.ceil((g * max(gwCores)) / util);
    const needMem = Math.ceil((g * max(conns)) / Math.min(gwMemConns * util, gwFdConns));
    const next = Math.max(needCpu, needMem, 1);
    if (next <= g) break;
    g = next;
  }
  const conns = Float64Array.from(p.members, (m) => m / A.roomsPerConn);
  const gwMemLimitConns = Math.min(gwMemConns, gwFdConns);
  const gatewayBound =
    max(gwCores) / util >= max(conns) / (gwMemLimitConns * util)
      ? 'CPU'
      : gwMemConns <= gwFdConns
        ? 'memory'
        : 'file descriptors';
  const changesCoresPerGw = ((changesPerSec / g) * joins.gatewayUsPerChange) / 1e6;

  // Binding churn: a (room, gateway) pair with one local member binds when it joins and unbinds
  // when it leaves, once per session, less the rejoins the linger covers (pairs with more
  // members change less often: a lower bound without the linger).
  const opsNoLinger = bindOps({ singles: p.singles, sessionS: A.sessionS, saving: 0 });
  const bindOpsPerSec = bindOps({ singles: p.singles, sessionS: A.sessionS, saving });
  const unusedPerSec = sum(unusedGw);

  // Per room, what lands on its cluster: publishes, deliveries into gateway queues (used and
  // unused), binding operations.
  const perRoom = {
    publishes: rate,
    queueDeliveries: Float64Array.from(rate, (x, r) => x * p.bound[r]),
    unused: Float64Array.from(rate, (x, r) => (x * p.singlesRoom[r] * idleS) / A.sessionS),
    bindOps: Float64Array.from(p.singlesRoom, (n) =>
      bindOps({ singles: n, sessionS: A.sessionS, saving }),
    ),
  };
  // Every node applies every binding change (cluster-wide metadata), one after another: more
  // nodes or more channels add no capacity for it (3 channels took no more than 1 in the sweep).
  // The ceiling is what the measured cluster took at once, or what a node's CPU allows at its
  // share of an op (the cluster's CPU per op over 3), whichever is lower.
  const cpuBindCeiling = (A.brokerNodeCores * util * 1e6) / (B.brokerUsPerBindOpCluster3 / 3);
  const bindCapacity = A.bindCeiling ?? Math.min(B.rawBindOpsPerSecCluster3, cpuBindCeiling);
  const bindFrom =
    A.bindCeiling !== null
      ? '--bind-ceiling'
      : bindCapacity === B.rawBindOpsPerSecCluster3
        ? budget.from.rawBindOpsPerSecCluster3
        : `${A.brokerNodeCores} cores × ${pct(util)} / (${budget.from.brokerUsPerBindOpCluster3} / 3)`;

  // The gateways' per-gateway figures at the busiest gateway; a gateway has a channel and a
  // queue on each cluster, each taking about 1/k of its binding changes and deliveries.
  const gwOpsMax = bindOps({ singles: max(p.singlesGw), sessionS: A.sessionS, saving });
  const gwQueueMax = max(Float64Array.from(p.brokerDel, (x, i) => x + unusedGw[i]));

  /** The clusters at k: rooms hashed to clusters (a draw per room, as rendezvous hashing). */
  const atK = (k) => {
    const crand = prng(A.seed + 3 + k);
    const of = new Int32Array(sizes.length);
    for (let r = 0; r < of.length; r++) of[r] = Math.floor(crand() * k);
    const per = splitByCluster(perRoom, k, (r) => of[r]);
    const presence = changesPerSec / k; // sockets hashed to clusters: millions, an even split
    const cores = Float64Array.from(
      per.publishes,
      (_, c) =>
        (per.publishes[c] * B.brokerUsPerPublish +
          (per.queueDeliveries[c] + per.unused[c]) * B.brokerUsPerQueueDelivery +
          presence * B.brokerUsPerChangeCluster3 +
          per.bindOps[c] * B.brokerUsPerBindOpCluster3) /
        1e6,
    );
    const ceilings = [
      {
        what: "binding changes, busiest cluster's",
        unit: 'ops/s',
        load: max(per.bindOps),
        limit: bindCapacity,
        from: bindFrom,
      },
      {
        what: 'presence queue, one per cluster (quorum)',
        unit: 'msgs/s',
        load: presence,
        limit: B.quorumQueueMsgsPerSec,
        from: budget.from.quorumQueueMsgsPerSec,
      },
      {
        what: "a gateway's channel to one cluster, binding changes",
        unit: 'ops/s',
        load: gwOpsMax / k,
        limit: B.rawBindOpsPerSecPerChannelCluster3,
        from: budget.from.rawBindOpsPerSecPerChannelCluster3,
      },
      {
        what: "a gateway's queue on one cluster (classic)",
        unit: 'msgs/s',
        load: gwQueueMax / k,
        limit: B.classicQueueMsgsPerSec,
        from: budget.from.classicQueueMsgsPerSec,
      },
    ];
    return { k, per, presence, cores, ceilings };
  };
  let k = A.clusters;
  if (k === 'auto') {
    k = leastClusters((n) => atK(n).ceilings, A.headroom);
    if (k === null) throw new Error('no cluster count up to 1000 fits: see --headroom');
  }
  const C = atK(k);
  const clusterCores = max(C.cores);
  const nodesPerCluster = Math.max(3, Math.ceil(clusterCores / (A.brokerNodeCores * util)));
  const brokerCores = sum(C.cores);

  const presenceReplicas = Math.max(2, Math.ceil(changesPerSec / (joins.presencePerCore * util)));

  // Redis: a room's appends go to its group's master; groups spread evenly over the masters.
  const group = new Float64Array(GROUPS);
  const grand = prng(A.seed + 2);
  for (let r = 0; r < sizes.length; r++) group[Math.floor(grand() * GROUPS)] += rate[r];
  const redisCores = (sendsPerSec * B.redisUsPerAppend + changesPerSec * B.redisUsPerChange) / 1e6;
  let masters = Math.max(3, Math.ceil(redisCores / util));
  masters = Math.min(GROUPS, masters);
  const perMaster = (m) => {
    const loads = new Float64Array(m);
    for (let j = 0; j < GROUPS; j++) loads[j % m] += group[j];
    return loads;
  };
  const masterCores = (m) =>
    max(perMaster(m)) * (B.redisUsPerAppend / 1e6) +
    (changesPerSec / m) * (B.redisUsPerChange / 1e6);
  while (masters < GROUPS && masterCores(masters) > util) masters++;
  const hottestRoom = max(rate);

  const ceilings = [
    ...C.ceilings,
    {
      what: 'hottest Redis group (one master)',
      unit: 'appends/s',
      load: max(group),
      limit: (util * 1e6) / B.redisUsPerAppend,
      from: `${pct(util)} of ${budget.from.redisUsPerAppend}`,
    },
    {
      what: 'Redis masters (64 groups)',
      unit: 'masters',
      load: redisCores / util,
      limit: GROUPS,
      from: 'libs/store/src/redis/keys.ts',
    },
  ].map((c) => ({ ...c, share: c.load / c.limit }));
  const first = [...ceilings].sort((x, y) => y.share - x.share)[0];

  const sizeShare = (lo, hi) =>
    sum(Array.from(sizes, (s) => (s >= lo && s <= hi ? 1 : 0))) / sizes.length;
  return {
    connections,
    deliveries,
    rooms: {
      count: sizes.length,
      memberships,
      meanSize: memberships / sizes.length,
      share2to10: sizeShare(2, 10),
      shareOver1000: sizeShare(1001, Infinity),
      largest: max(sizes),
      hottestRoomSendsPerSec: hottestRoom,
    },
    traffic: {
      sendsPerSec,
      queueDeliveriesPerSec: p.queueDeliveries,
      meanFanout: p.fanoutWeighted / sendsPerSec,
      maxFanout: p.maxFanout,
      presenceChangesPerSec: changesPerSec,
      singlePairs: p.singles,
      bindOpsNoLingerPerSec: opsNoLinger,
      lingerSaving: saving,
      bindOpsPerSec,
      lingerIdleSPerLeave: idleS,
      unusedDeliveriesPerSec: unusedPerSec,
    },
    gateways: {
      count: g,
      bound: gatewayBound,
      connsMean: mean(conns),
      connsMax: max(conns),
      connsLimit: gwMemLimitConns,
      bindingsMean: mean(p.bindings),
      bindingsMax: max(p.bindings),
      clientDeliveriesMax: max(p.clientDel),
      brokerDeliveriesMax: gwQueueMax,
      coresMax: max(gwCores),
      coresMean: mean(gwCores),
      changesCores: changesCoresPerGw,
    },
    clusters: {
      count: k,
      chosen: A.clusters === 'auto' ? 'auto' : 'given',
      publishesMax: max(C.per.publishes),
      queueDeliveriesMax: max(C.per.queueDeliveries),
      unusedMax: max(C.per.unused),
      bindOpsMax: max(C.per.bindOps),
      presenceMsgs: C.presence,
      coresMax: clusterCores,
      nodesEach: nodesPerCluster,
    },
    broker: {
      cores: brokerCores,
      nodes: k * nodesPerCluster,
      nodeCores: A.brokerNodeCores,
      bindCapacity,
    },
    presence: { replicas: presenceReplicas, changesPerSec, queues: k },
    redis: {
      masters,
      cores: redisCores,
      hottestGroupAppendsPerSec: max(group),
      hottestMasterCores: masterCores(masters),
    },
    ceilings,
    first,
  };
}

const f0 = (x) => (x < 10 && x > 0 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const pct = (x) => `${(100 * x).toFixed(0)}%`;

/**
 * A markdown table as prettier aligns it: the first column and those in `left` left-aligned (no
 * colon), the others right-aligned.
 */
function mdTable(head, rows, left = [0]) {
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)));
  const isLeft = (i) => left.includes(i) || left.includes(i - head.length);
  const cell = (s, i) => (isLeft(i) ? s.padEnd(w[i]) : s.padStart(w[i]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  const sep = `| ${w.map((n, i) => (isLeft(i) ? '-'.repeat(n) : '-'.repeat(n - 1) + ':')).join(' | ')} |`;
  return [line(head), sep, ...rows.map(line)];
}

const BEGIN = '<!-- bench:model begin -->';
const END = '<!-- bench:model end -->';

/** The lines the model prints (and docs/scaling.md shows between its markers). */
function report(plans, budget, joins, linger) {
  const cols = plans.map((p) => `${f0(p.connections)} conns, ${f0(p.deliveries)} deliv/s`);
  const row = (label, f) => [label, ...plans.map(f)];
  const head = [
    `budget: ${budget.file ?? '(none: built-in defaults)'}${budget.measuredAt ? ` (measured ${budget.measuredAt})` : ''}`,
  ];
  if (budget.defaulted.length) head.push(`defaults used for: ${budget.defaulted.join(', ')}`);
  head.push(
    joins.fallback.length
      ? `joins: ${joins.file ? `${joins.file} lacks systems.${joins.system}.${joins.fallback.join(', ')}` : `${args.joins} absent`}: ` +
          `gateway CPU per join or leave ${f0(joins.gatewayUsPerChange)} µs from ${joins.gatewayFrom}; ` +
          `presence ${f0(joins.presencePerCore)} changes/s per core from ${joins.presenceFrom}`
      : `joins: ${joins.file} system ${joins.system}: gateway CPU per join or leave ${f0(joins.gatewayUsPerChange)} µs, ` +
          `presence ${f0(joins.presencePerCore)} changes/s per core` +
          (joins.joinsPerSec ? `, ${f0(joins.joinsPerSec)} joins/s` : '') +
          (joins.ackP99Ms ? `, ack p50 ${f1(joins.ackP50Ms)} / p99 ${f1(joins.ackP99Ms)} ms` : ''),
    `linger: ${A.lingerS} s; ${pct(A.rejoinShare)} of leaves are a rejoin within ${A.rejoinWithinS} s (assumed), ` +
      `${pct(lingerCovers(A))} of them covered; a covered rejoin leaves ${f2(linger.awayS)} s of its room's traffic unused (${linger.awayFrom})`,
  );
  if (linger.runs.length)
    head.push(
      `bench:linger check (${linger.at}): binding ops ${linger.runs.map((r) => `${r.bindingOps} at ${r.lingerMs / 1000} s`).join(', ')} ` +
        `for ~${linger.runs[0].reconnects} reconnects within 2 s; the model saves ` +
        `${linger.runs.map((r) => pct(lingerCovers({ rejoinWithinS: 2, lingerS: r.lingerMs / 1000 }))).join(', ')} of them`,
    );
  head.push(
    `assumptions: ${A.roomsPerConn} rooms per connection, sizes ~ s^-${A.alpha} on [2, ${A.maxRoom}], ` +
      `send cap ${A.sendCap}, sessions of ${A.sessionS / 60} min, ${A.clusters === 'auto' ? 'least k' : A.clusters} broker clusters ` +
      `(ceilings at most ${pct(A.headroom)}), ${A.brokerNodeCores}-core broker nodes, ` +
      (A.bindCeiling ? `binding ceiling ${A.bindCeiling}/s, ` : '') +
      `${A.gatewayMemGiB} GiB gateways, ${pct(A.util)} utilisation, seed ${A.seed}`,
  );
  const planTable = mdTable(
    ['', ...cols],
    [
      row('rooms (mean size)', (p) => `${f0(p.rooms.count)} (${f1(p.rooms.meanSize)})`),
      row(
        'rooms of 2-10 / over 1,000 members',
        (p) => `${pct(p.rooms.share2to10)} / ${f0(p.rooms.shareOver1000 * p.rooms.count)}`,
      ),
      row('sends/s (appends/s)', (p) => f0(p.traffic.sendsPerSec)),
      row('broker queue deliveries/s', (p) => f0(p.traffic.queueDeliveriesPerSec)),
      row(
        'fan-out: gateways per message, mean (max)',
        (p) => `${f2(p.traffic.meanFanout)} (${f0(p.traffic.maxFanout)})`,
      ),
      row('presence changes/s', (p) => f0(p.traffic.presenceChangesPerSec)),
      row(
        'bind + unbind ops/s, no linger → linger (saved)',
        (p) =>
          `${f0(p.traffic.bindOpsNoLingerPerSec)} → ${f0(p.traffic.bindOpsPerSec)} (${pct(p.traffic.lingerSaving)})`,
      ),
      row(
        "linger's unused queue deliveries/s (of all)",
        (p) =>
          `${f0(p.traffic.unusedDeliveriesPerSec)} (${((100 * p.traffic.unusedDeliveriesPerSec) / p.traffic.queueDeliveriesPerSec).toFixed(2)}%)`,
      ),
      row('**gateways** (bound by)', (p) => `**${f0(p.gateways.count)}** (${p.gateways.bound})`),
      row(
        'connections per gateway, mean / max (limit)',
        (p) =>
          `${f0(p.gateways.connsMean)} / ${f0(p.gateways.connsMax)} (${f0(p.gateways.connsLimit)})`,
      ),
      row(
        'bindings per gateway, mean / max',
        (p) => `${f0(p.gateways.bindingsMean)} / ${f0(p.gateways.bindingsMax)}`,
      ),
      row('client deliveries/s on the busiest gateway', (p) => f0(p.gateways.clientDeliveriesMax)),
      row(
        'cores of the busiest gateway (joins and leaves)',
        (p) => `${f2(p.gateways.coresMax)} (${f2(p.gateways.changesCores)})`,
      ),
      row(
        '**broker clusters** (k)',
        (p) =>
          `**${p.clusters.count}** (${p.clusters.chosen === 'auto' ? 'least that fits' : 'given'})`,
      ),
      row('busiest cluster: publishes/s', (p) => f0(p.clusters.publishesMax)),
      row(
        'busiest cluster: queue deliveries/s (+ unused)',
        (p) => `${f0(p.clusters.queueDeliveriesMax)} (+ ${f0(p.clusters.unusedMax)})`,
      ),
      row('busiest cluster: bind + unbind ops/s', (p) => f0(p.clusters.bindOpsMax)),
      row('a cluster: presence queue msgs/s', (p) => f0(p.clusters.presenceMsgs)),
      row(
        'broker cores: busiest cluster (of its nodes at ' + pct(A.util) + '), all',
        (p) =>
          `${f2(p.clusters.coresMax)} (of ${f1(p.clusters.nodesEach * p.broker.nodeCores * A.util)}), ${f1(p.broker.cores)}`,
      ),
      row(
        '**broker nodes**: clusters × nodes × cores',
        (p) => `**${p.clusters.count} × ${p.clusters.nodesEach}** × ${p.broker.nodeCores}`,
      ),
      row(
        '**Redis masters** (hottest master cores)',
        (p) => `**${p.redis.masters}** (${f2(p.redis.hottestMasterCores)})`,
      ),
      row(
        '**presence replicas** (queues)',
        (p) => `**${p.presence.replicas}** (${p.presence.queues})`,
      ),
    ],
  );
  const ceilTable = mdTable(
    ['ceiling', ...cols, 'measured limit from'],
    plans[0].ceilings.map((c, i) => [
      `${c.what}, ${c.unit}`,
      ...plans.map(
        (p) =>
          `${f0(p.ceilings[i].load)} / ${f0(p.ceilings[i].limit)} (${pct(p.ceilings[i].share)})`,
      ),
      c.from,
    ]),
    [0, -1],
  );
  return {
    head,
    planTable,
    ceilTable,
    firsts: plans.map(
      (p) =>
        `first to run out at ${f0(p.connections)}: ${p.first.what} (${pct(p.first.share)} of ${f0(p.first.limit)} ${p.first.unit}, ${p.first.from})`,
    ),
  };
}

const budget = loadBudget(args.budget);
const joins = loadJoins(args.joins, args['joins-system'], budget);
const linger = loadLinger(args.linger);
const scales = args.scales.split(',').map((x) => x.split(':').map(Number));
if (scales.some((s) => s.length !== 2 || s.some((x) => !Number.isFinite(x) || x <= 0))) {
  process.stderr.write(
    `bench:model: --scales must be C:D pairs of positive numbers, got ${JSON.stringify(args.scales)}\n`,
  );
  process.exit(2);
}
const plans = scales.map(([c, d]) => plan(c, d, budget, joins, linger));

if (args.json) {
  process.stdout.write(
    JSON.stringify({ assumptions: A, budget, joins, linger, plans }, null, 2) + '\n',
  );
  process.exit(0);
}

const r = report(plans, budget, joins, linger);
const block = [
  BEGIN,
  '',
  '```text',
  ...r.head,
  '```',
  '',
  ...r.planTable,
  '',
  'Fixed ceilings (adding instances does not raise them; the plan keeps each at most ' +
    `${pct(A.headroom)}), load / limit:`,
  '',
  ...r.ceilTable,
  '',
  ...r.firsts.map((x) => `- ${x}`),
  '',
  END,
].join('\n');

if (args['write-doc']) {
  const file = args['write-doc'];
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) {
    process.stderr.write(`bench:model: ${file} has no ${BEGIN} … ${END} block\n`);
    process.exit(2);
  }
  writeFileSync(file, text.slice(0, a) + block + text.slice(b + END.length));
  process.stdout.write(`bench:model: wrote the plan into ${file}\n`);
} else if (args.markdown) {
  process.stdout.write(block + '\n');
} else {
  process.stdout.write(
    [
      ...r.head,
      '',
      ...r.planTable,
      '',
      'fixed ceilings: load / limit',
      '',
      ...r.ceilTable,
      '',
      ...r.firsts,
    ].join('\n') + '\n',
  );
}
