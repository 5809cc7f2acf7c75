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
//   4. per-gateway bindings, connections and CPU; broker publishes, fan-out (gateways per
//      message) and bind churn; presence changes; appends per Redis group (64 groups: a room's
//      keys live in one) and per master;
//   5. the instances each needs from the budget bench/scaling.mjs measured (its JSON; built-in
//      defaults for a figure it lacks, flagged), and the fixed ceilings (one presence queue, one
//      cluster's binding changes, one Redis group) with how much of each the load uses.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { medianOf as med } from './lib/stats.mjs';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    budget: { type: 'string', default: 'docs/benchmarks/scaling.json' },
    scales: { type: 'string', default: '1000000:100000,10000000:1000000' },
    'rooms-per-conn': { type: 'string', default: '3' },
    alpha: { type: 'string', default: '2.2' },
    'max-room': { type: 'string', default: '50000' },
    'send-cap': { type: 'string', default: '100' },
    'session-min': { type: 'string', default: '30' },
    'broker-node-cores': { type: 'string', default: '4' },
    'gateway-mem-gib': { type: 'string', default: '2' },
    'gateway-fds': { type: 'string', default: '1048576' },
    utilisation: { type: 'string', default: '0.6' },
    'bind-ceiling': { type: 'string' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`usage: npm run bench:model -- [options]
  --budget FILE          the sweep's JSON (default docs/benchmarks/scaling.json)
  --scales C:D,...       connections:deliveries/s (default 1000000:100000,10000000:1000000)
  --rooms-per-conn N     rooms each connection is in (default 3)
  --alpha A              room sizes ~ s^-A on [2, --max-room] (default 2.2, max 50000)
  --send-cap N           a room above N members sends as one of N (default 100)
  --session-min N        mean session length, for presence changes and bind churn (default 30)
  --broker-node-cores N  cores of one RabbitMQ node (default 4)
  --gateway-mem-gib N    memory of one gateway process (default 2)
  --gateway-fds N        its open-file limit (default 1048576, a container's usual nofile; the
                         sweep's machine had 20000)
  --utilisation U        the share of each instance's CPU the plan uses (default 0.6)
  --bind-ceiling N       one cluster's binding changes/s, instead of the lower of the measured
                         rate and what --broker-node-cores allow at the measured CPU per op
  --seed N               PRNG seed (default 42)
  --json                 the result as JSON instead of tables
`);
  process.exit(0);
}

const A = {
  roomsPerConn: Number(args['rooms-per-conn']),
  alpha: Number(args.alpha),
  maxRoom: Number(args['max-room']),
  sendCap: Number(args['send-cap']),
  sessionS: Number(args['session-min']) * 60,
  brokerNodeCores: Number(args['broker-node-cores']),
  gatewayMemGiB: Number(args['gateway-mem-gib']),
  gatewayFds: Number(args['gateway-fds']),
  util: Number(args.utilisation),
  bindCeiling: args['bind-ceiling'] === undefined ? null : Number(args['bind-ceiling']),
  seed: Number(args.seed),
};

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
  quorumQueueMsgsPerSec: 5000,
  presenceCeilingPerCore: 5000,
  redisUsPerAppend: 32,
  redisUsPerChange: 33,
};
const GROUPS = 64; // libs/presence-store/src/keys.ts: a room's keys live in one of 64 groups

function loadBudget(file) {
  const used = {};
  const defaulted = [];
  let json = null;
  if (existsSync(file)) json = JSON.parse(readFileSync(file, 'utf8'));
  const f = json?.budget?.figures ?? {};
  const pick = (key, value) => {
    if (value === null || value === undefined || !Number.isFinite(value)) {
      used[key] = DEFAULTS[key];
      defaulted.push(key);
    } else used[key] = value;
  };
  const b = json?.budget ?? {};
  // Memory per connection: the larger of heap and RSS growth (RSS can grow less than the heap
  // where the allocator had pages to spare before the connections came).
  pick(
    'gatewayChatKiBPerConn',
    f.gatewayChatRssKiBPerConn === null || f.gatewayChatRssKiBPerConn === undefined
      ? null
      : Math.max(f.gatewayChatRssKiBPerConn, f.gatewayChatHeapKiBPerConn ?? 0),
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
  );
  pick('rawBindOpsPerSecPerChannelCluster3', f.rawBindOpsPerSecPerChannelCluster3);
  pick('rawBindOpsPerSecCluster3', f.rawBindOpsPerSecCluster3);
  pick('quorumQueueMsgsPerSec', f.quorumQueueMsgsPerSec);
  pick('presenceCeilingPerCore', f.presenceCeilingPerCore);
  pick('redisUsPerAppend', f.redisAppendsPerMasterCore ? 1e6 / f.redisAppendsPerMasterCore : null);
  pick('redisUsPerChange', med(b.presence?.[0]?.redisUsPerChange));
  return { file: json ? file : null, measuredAt: json?.meta?.startedAt, used, defaulted };
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
 * sends/s. Returns per-gateway arrays and broker-wide totals.
 */
function place(sizes, rate, g, rand) {
  const bindings = new Float64Array(g);
  const clientDel = new Float64Array(g);
  const brokerDel = new Float64Array(g);
  const sends = new Float64Array(g);
  const members = new Float64Array(g);
  const local = new Int32Array(g);
  const touched = [];
  let queueDeliveries = 0;
  let singles = 0;
  let fanoutWeighted = 0;
  let maxFanout = 0;
  const bound = new Int32Array(sizes.length);
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
      if (l === 1) singles++;
      local[gw] = 0;
    }
  }
  return {
    bindings,
    clientDel,
    brokerDel,
    sends,
    members,
    queueDeliveries,
    singles,
    fanoutWeighted,
    maxFanout,
    bound,
  };
}

const sum = (a) => a.reduce((x, y) => x + y, 0);
const max = (a) => a.reduce((x, y) => (y > x ? y : x), -Infinity);
const mean = (a) => sum(a) / a.length;

/** The plan for `connections` online connections and `deliveries` deliveries/s to clients. */
function plan(connections, deliveries, budget) {
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

  // Gateways: enough for memory, file descriptors and CPU on the busiest one; placement depends
  // on the count, so iterate until it settles.
  const util = A.util;
  const gwMemConns =
    ((A.gatewayMemGiB * 1024 - B.gatewayBaselineRssMiB) * 1024) / B.gatewayChatKiBPerConn;
  const gwFdConns = A.gatewayFds / B.gatewayFdsPerConn;
  let g = Math.max(1, Math.ceil(connections / Math.min(gwMemConns * util, gwFdConns)));
  let p;
  let gwCores;
  for (let i = 0; i < 8; i++) {
    p = place(sizes, rate, g, prng(A.seed + 1));
    const conns = Float64Array.from(p.members, (m) => m / A.roomsPerConn);
    gwCores = conns.map(
      (c, k) =>
        (B.gatewayIdleCoresPer1kConns * c) / 1000 +
        (p.sends[k] * B.gatewayUsPerSend +
          p.brokerDel[k] * B.gatewayUsPerBrokerDelivery +
          p.clientDel[k] * B.gatewayUsPerClientDelivery +
          (changesPerSec / g) * B.gatewayUsPerChange) /
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

  // Binding churn: a (room, gateway) pair with one local member binds when it joins and unbinds
  // when it leaves, once per session (pairs with more members change less often: a lower bound).
  const bindOpsPerSec = (2 * p.singles) / A.sessionS;
  const publishes = sendsPerSec;
  const brokerCores =
    (publishes * B.brokerUsPerPublish +
      p.queueDeliveries * B.brokerUsPerQueueDelivery +
      changesPerSec * B.brokerUsPerChangeCluster3 +
      bindOpsPerSec * B.brokerUsPerBindOpCluster3) /
    1e6;
  const brokerNodes = Math.max(3, Math.ceil(brokerCores / (A.brokerNodeCores * util)));
  // Every node applies every binding change (cluster-wide metadata), one after another: more
  // nodes or more channels add no capacity for it (3 channels took no more than 1 in the sweep).
  // The ceiling is what the measured cluster took at once, or what a node's CPU allows at its
  // share of an op (the cluster's CPU per op over 3), whichever is lower.
  const bindCapacity =
    A.bindCeiling ??
    Math.min(
      B.rawBindOpsPerSecCluster3,
      (A.brokerNodeCores * util * 1e6) / (B.brokerUsPerBindOpCluster3 / 3),
    );

  const presenceReplicas = Math.max(
    2,
    Math.ceil(changesPerSec / (B.presenceCeilingPerCore * util)),
  );

  // Redis: a room's appends go to its group's master; groups spread evenly over the masters.
  const group = new Float64Array(GROUPS);
  const grand = prng(A.seed + 2);
  for (let r = 0; r < sizes.length; r++) group[Math.floor(grand() * GROUPS)] += rate[r];
  const redisCores = (sendsPerSec * B.redisUsPerAppend + changesPerSec * B.redisUsPerChange) / 1e6;
  let masters = Math.max(3, Math.ceil(redisCores / util));
  masters = Math.min(GROUPS, masters);
  const perMaster = (m) => {
    const loads = new Float64Array(m);
    for (let k = 0; k < GROUPS; k++) loads[k % m] += group[k];
    return loads;
  };
  const masterCores = (m) =>
    max(perMaster(m)) * (B.redisUsPerAppend / 1e6) +
    (changesPerSec / m) * (B.redisUsPerChange / 1e6);
  while (masters < GROUPS && masterCores(masters) > util) masters++;
  const hottestRoom = max(rate);

  const ceilings = [
    {
      what: 'presence queue (one quorum queue)',
      load: changesPerSec,
      limit: B.quorumQueueMsgsPerSec,
      unit: 'msgs/s',
    },
    {
      what: 'binding changes (one RabbitMQ cluster)',
      load: bindOpsPerSec,
      limit: bindCapacity,
      unit: 'ops/s',
    },
    {
      what: "a gateway's binding changes (one channel)",
      load: bindOpsPerSec / g,
      limit: B.rawBindOpsPerSecPerChannelCluster3,
      unit: 'ops/s',
    },
    {
      what: 'hottest Redis group (one master)',
      load: max(group),
      limit: (util * 1e6) / B.redisUsPerAppend,
      unit: 'appends/s',
    },
    {
      what: 'Redis masters (64 groups)',
      load: redisCores / util,
      limit: GROUPS,
      unit: 'masters',
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
      bindOpsPerSec,
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
      brokerDeliveriesMax: max(p.brokerDel),
      coresMax: max(gwCores),
      coresMean: mean(gwCores),
    },
    broker: { cores: brokerCores, nodes: brokerNodes, nodeCores: A.brokerNodeCores, bindCapacity },
    presence: { replicas: presenceReplicas, changesPerSec },
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

const budget = loadBudget(args.budget);
const scales = args.scales.split(',').map((x) => x.split(':').map(Number));
const plans = scales.map(([c, d]) => plan(c, d, budget));

if (args.json) {
  process.stdout.write(JSON.stringify({ assumptions: A, budget, plans }, null, 2) + '\n');
  process.exit(0);
}

const f0 = (x) => (x < 10 && x > 0 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const cols = plans.map((p) => `${f0(p.connections)} conns, ${f0(p.deliveries)} deliv/s`);
const row = (label, f) => `| ${label} | ${plans.map(f).join(' | ')} |`;
const out = [];
out.push(
  `budget: ${budget.file ?? '(none: built-in defaults)'}${budget.measuredAt ? ` (measured ${budget.measuredAt})` : ''}`,
);
if (budget.defaulted.length) out.push(`defaults used for: ${budget.defaulted.join(', ')}`);
out.push(
  `assumptions: ${A.roomsPerConn} rooms per connection, sizes ~ s^-${A.alpha} on [2, ${A.maxRoom}], ` +
    `send cap ${A.sendCap}, sessions of ${A.sessionS / 60} min, ${A.brokerNodeCores}-core broker nodes, ` +
    (A.bindCeiling ? `binding ceiling ${A.bindCeiling}/s, ` : '') +
    `${A.gatewayMemGiB} GiB gateways, ${pct(A.util)} utilisation, seed ${A.seed}`,
  '',
  `|  | ${cols.join(' | ')} |`,
  `| --- | ${cols.map(() => '---:').join(' | ')} |`,
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
  row('bind + unbind ops/s', (p) => f0(p.traffic.bindOpsPerSec)),
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
  row('cores of the busiest gateway', (p) => f2(p.gateways.coresMax)),
  row(
    'broker cores (**nodes**)',
    (p) => `${f1(p.broker.cores)} (**${p.broker.nodes}** × ${p.broker.nodeCores})`,
  ),
  row(
    '**Redis masters** (hottest master cores)',
    (p) => `**${p.redis.masters}** (${f2(p.redis.hottestMasterCores)})`,
  ),
  row('**presence replicas**', (p) => `**${p.presence.replicas}**`),
  '',
  'fixed ceilings (adding instances does not raise them): load / limit',
  '',
  `| ceiling | ${cols.join(' | ')} |`,
  `| --- | ${cols.map(() => '---:').join(' | ')} |`,
  ...plans[0].ceilings.map((c, i) =>
    row(
      `${c.what}, ${c.unit}`,
      (p) => `${f0(p.ceilings[i].load)} / ${f0(p.ceilings[i].limit)} (${pct(p.ceilings[i].share)})`,
    ),
  ),
  '',
  ...plans.map(
    (p) =>
      `first to run out at ${f0(p.connections)}: ${p.first.what} (${pct(p.first.share)} of its limit)`,
  ),
);
process.stdout.write(out.join('\n') + '\n');
