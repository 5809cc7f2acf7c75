// Turns the trials into medians, a markdown table, results.json and an SVG chart.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { ROOT } from './harness.mjs';
import { median, spread as spreadOf } from './stats.mjs';
import { SYSTEMS } from './systems.mjs';

const ORDER = ['U', 'A', 'B', 'S', 'P', 'O', 'C'];
const COLORS = {
  U: '#8c8c8c',
  A: '#e07b39',
  B: '#3a87c8',
  S: '#c0392b',
  P: '#a6d8b8',
  O: '#2e9e5b',
  C: '#8e44ad',
};
/** The systems that are roomcast, whose batching counters the report shows. */
const ROOMCAST = ['O', 'C', 'P'];

/** min, max and count over rounds (the median comes from stat()). */
function range3(values) {
  const { min, max, n } = spreadOf(values);
  return n ? { min, max, n } : null;
}

/** a / b, or null when either is 0 (a counter the build does not export reads as 0): "n/a". */
const ratio = (a, b) => (a > 0 && b > 0 ? a / b : null);

/**
 * roomcast's batching in one phase (its broker counters, measure.mjs): broker messages published
 * per accepted chat message, room entries per broker message, entries received and how many of
 * them were for a room with no local member.
 */
export function batching(phase) {
  const b = phase.broker;
  return {
    acceptedPerSec: ((b.accepted ?? 0) * 1000) / phase.windowMs,
    brokerPerChat: ratio(b.roomMessagesPublished ?? 0, b.accepted ?? 0),
    entriesPerBroker: ratio(b.roomEntriesPublished ?? 0, b.roomMessagesPublished ?? 0),
    entries: b.entries ?? 0,
    entriesUnused: b.entriesUnused ?? 0,
    entriesUnusedShare: b.entries ? (b.entriesUnused ?? 0) / b.entries : null,
  };
}

function stat(trials, get) {
  const values = trials.map((t) => {
    try {
      return get(t);
    } catch {
      return null;
    }
  });
  return { median: median(values), ...range3(values), values };
}

/** Medians per system and workload. */
export function aggregate(trials) {
  const out = {};
  for (const t of trials) {
    if (t.workload === '*') continue;
    out[t.system] ??= {};
    out[t.system][t.workload] ??= { trials: [], errors: 0 };
    if (t.error) out[t.system][t.workload].errors++;
    else out[t.system][t.workload].trials.push(t);
  }
  for (const bySystem of Object.values(out)) {
    for (const g of Object.values(bySystem)) {
      const ts = g.trials;
      const sum = (k) => ts.reduce((a, t) => a + (t.final?.[k] ?? 0), 0);
      g.correctness = {
        sent: sum('sent'),
        expected: sum('expected'),
        lost: sum('lost'),
        dup: sum('dup'),
        ooo: sum('ooo'),
        unacked: sum('unacked'),
        ackErrors: sum('ackErrors'),
      };
      if (ts.some((t) => t.idle)) {
        g.idle = {
          connections: ts[0]?.idle.connections,
          perInstance: ts[0]?.idle.perInstance,
          heapPerConn: stat(ts, (t) => t.idle.heapPerConn),
          rssPerConn: stat(ts, (t) => t.idle.rssPerConn),
          redisPerConn: stat(ts, (t) => t.idle.redisPerConn),
          connectMs: stat(ts, (t) => t.idle.connectMs),
        };
      } else if (ts.length) {
        const unusedAll = (t) =>
          t.fixed.broker.unused + (t.sweep?.steps ?? []).reduce((a, s) => a + s.broker.unused, 0);
        g.fixed = {
          offered: ts[0].setup.sendsPerSec * ts[0].setup.fanout,
          fanout: ts[0].setup.fanout,
          deliveriesPerSec: stat(ts, (t) => t.fixed.deliveriesPerSec),
          p50: stat(ts, (t) => t.fixed.latency.p50),
          p99: stat(ts, (t) => t.fixed.latency.p99),
          p999: stat(ts, (t) => t.fixed.latency.p999),
          ackP99: stat(ts, (t) => t.fixed.ack.p99),
          cpuPerDelivery: stat(ts, (t) => t.fixed.cpu.serverUsPerDelivery),
          serverCores: stat(ts, (t) => t.fixed.cpu.serverCores),
          loadgenCores: stat(ts, (t) => t.fixed.cpu.loadgenCores),
          otherCores: stat(ts, (t) => t.fixed.cpu.otherUs / t.fixed.cpu.wallUs),
          brokerDeliveries: stat(ts, (t) => t.fixed.broker.deliveries),
          unused: stat(ts, (t) => t.fixed.broker.unused),
          unusedShare: stat(ts, (t) =>
            t.fixed.broker.deliveries ? t.fixed.broker.unused / t.fixed.broker.deliveries : 0,
          ),
          unusedTotal: ts.reduce((a, t) => a + unusedAll(t), 0),
          joinP99: stat(ts, (t) => t.fixed.churn?.join.p99 ?? null),
          joinsPerSec: stat(ts, (t) => t.fixed.churn?.joinsPerSec ?? null),
          connectMs: stat(ts, (t) => t.setup.connectMs),
          perProcessUs: perProcessMedian(ts),
        };
        if (ts.some((t) => t.lone)) {
          g.lone = {
            ackP50: stat(ts, (t) => t.lone?.ack.p50 ?? null),
            ackP99: stat(ts, (t) => t.lone?.ack.p99 ?? null),
            sends: stat(ts, (t) => t.lone?.ack.n ?? null),
          };
        }
        if (ROOMCAST.includes(ts[0].system)) {
          g.fixed.batching = {
            acceptedPerSec: stat(ts, (t) => batching(t.fixed).acceptedPerSec),
            brokerPerChat: stat(ts, (t) => batching(t.fixed).brokerPerChat),
            entriesPerBroker: stat(ts, (t) => batching(t.fixed).entriesPerBroker),
            entries: stat(ts, (t) => batching(t.fixed).entries),
            entriesUnused: stat(ts, (t) => batching(t.fixed).entriesUnused),
            entriesUnusedShare: stat(ts, (t) => batching(t.fixed).entriesUnusedShare),
          };
        }
        if (ts.some((t) => t.sweep)) {
          g.sweep = {
            best: stat(ts, (t) => t.sweep.best?.deliveriesPerSec ?? 0),
            perCore: stat(ts, (t) => t.sweep.best?.perCore ?? null),
            cores: stat(ts, (t) => t.sweep.best?.serverCores ?? null),
            loadgenCoresAtLimit: stat(ts, (t) => t.sweep.limit?.loadgenCores ?? null),
            machineCoresAtLimit: stat(ts, (t) => t.sweep.limit?.machineCores ?? null),
            limitP99: stat(ts, (t) => t.sweep.limit?.p99 ?? null),
            curve: sweepCurve(ts),
          };
        }
      }
      delete g.trials;
      g.n = ts.length;
    }
  }
  return out;
}

/** The parts of a system the CPU breakdown shows, by process name. */
const PARTS = [
  ['Socket.IO servers / gateways', (n) => /^(server|gateway)\d+$/.test(n)],
  ['presence', (n) => n === 'presence' || /^presence\d+$/.test(n)],
  ['stats', (n) => n === 'stats'],
  ['Redis', (n) => /^redis\d*$/.test(n)],
  ['RabbitMQ', (n) => n === 'rabbitmq'],
];

/**
 * Where each system's server CPU goes, µs per delivery for each part (the medians over the rounds
 * of each process's CPU per delivery, summed over the part's processes), so a change shows
 * where it moved the cost.
 */
function breakdownTable(agg, systems, workloads) {
  const lines = [
    "**Where the server CPU goes**, µs per delivery (each process's median over the rounds, " +
      'summed per part; the parts may not add up to the median total above exactly).',
    '',
    `| workload | system | ${PARTS.map(([p]) => p).join(' | ')} | sum |`,
    `| --- | --- | ${PARTS.map(() => '--:').join(' | ')} | --: |`,
  ];
  for (const w of workloads) {
    for (const s of systems) {
      const per = agg[s]?.[w]?.fixed?.perProcessUs;
      if (!per) continue;
      const parts = PARTS.map(([, match]) => {
        const names = Object.keys(per).filter(match);
        return names.length ? names.reduce((a, n) => a + (per[n] ?? 0), 0) : null;
      });
      const sum = parts.reduce((a, v) => a + (v ?? 0), 0);
      lines.push(
        `| ${w} | ${s} | ${parts.map((v) => (v === null ? '-' : f(v))).join(' | ')} | ${f(sum)} |`,
      );
    }
  }
  return lines;
}

/** "n/a" for a ratio whose counters read 0 (a build without them, or nothing published). */
const na = (v, d = 2) => (v === null || v === undefined ? 'n/a' : f(v, d));

/**
 * roomcast's broker batching at the fixed load: broker messages per chat message, room entries
 * per broker message, and the received entries for a room with no local member.
 */
function batchingTable(agg, systems, workloads) {
  const rows = [];
  for (const w of workloads) {
    for (const s of systems.filter((x) => ROOMCAST.includes(x))) {
      const b = agg[s]?.[w]?.fixed?.batching;
      if (!b) continue;
      const unused =
        b.entries.median > 0
          ? `${k(b.entriesUnused.median)} of ${k(b.entries.median)} (${f(100 * b.entriesUnusedShare.median, 1)}%)`
          : 'n/a';
      rows.push(
        `| ${w} | ${s} | ${k(b.acceptedPerSec.median)} | ${na(b.brokerPerChat.median, 3)} | ` +
          `${na(b.entriesPerBroker.median)} | ${unused} |`,
      );
    }
  }
  if (!rows.length) return [];
  return [
    '',
    "**roomcast's broker batching at the fixed load**: broker messages its gateways published " +
      'carrying room entries, per chat message accepted in the phase; room entries (messages, ' +
      'updates, notices) per such broker message; entries the gateways received for a room ' +
      'with no local member (the phase and its drain; n/a: the build does not count it).',
    '',
    '| workload | system | chat messages accepted/s | broker messages per chat message | entries per broker message | unused entries received |',
    '| --- | --- | --: | --: | --: | --: |',
    ...rows,
  ];
}

/**
 * CPU per delivery at each step of the sweep of `w`, every system (the steps most rounds tried);
 * for roomcast also its broker messages per chat message and entries per broker message there.
 */
function stepsTable(agg, systems, w) {
  const swept = systems.filter((s) => agg[s]?.[w]?.sweep?.curve.length);
  if (!swept.length) return [];
  const rates = [
    ...new Set(swept.flatMap((s) => agg[s][w].sweep.curve.map((p) => p.offered))),
  ].sort((a, b) => a - b);
  const at = (s, rate) => agg[s][w].sweep.curve.find((p) => p.offered === rate);
  const lines = [
    '',
    `**Server CPU µs per delivery at each step, ${w}** (median over the rounds that tried the ` +
      'rate; p99 ms in brackets, * where most of those rounds went over the limit).',
    '',
    `| offered deliveries/s | ${swept.join(' | ')} |`,
    `| --: | ${swept.map(() => '--:').join(' | ')} |`,
  ];
  for (const rate of rates) {
    const cells = swept.map((s) => {
      const p = at(s, rate);
      if (!p) return '';
      const over = p.passes * 2 < p.tried ? '*' : '';
      return `${f(p.cpuPerDelivery)} (${f(p.p99, 0)})${over}`;
    });
    lines.push(`| ${k(rate)} | ${cells.join(' | ')} |`);
  }
  const rc = swept.filter((s) => ROOMCAST.includes(s));
  if (rc.length) {
    lines.push(
      '',
      `**roomcast's broker batching at each step, ${w}**: broker messages per chat message / ` +
        'entries per broker message / share of received entries unused.',
      '',
      `| offered deliveries/s | ${rc.join(' | ')} |`,
      `| --: | ${rc.map(() => '--:').join(' | ')} |`,
    );
    for (const rate of rates) {
      const cells = rc.map((s) => {
        const p = at(s, rate);
        if (!p) return '';
        const share =
          p.entriesUnusedShare === null ? 'n/a' : `${f(100 * p.entriesUnusedShare, 1)}%`;
        return `${na(p.brokerPerChat, 3)} / ${na(p.entriesPerBroker)} / ${share}`;
      });
      lines.push(`| ${k(rate)} | ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

function perProcessMedian(ts) {
  const names = new Set(ts.flatMap((t) => Object.keys(t.fixed.cpu.perProcessUs)));
  const out = {};
  for (const n of names) {
    out[n] = median(
      ts.map((t) =>
        t.fixed.deliveries ? (t.fixed.cpu.perProcessUs[n] ?? 0) / t.fixed.deliveries : null,
      ),
    );
  }
  return out;
}

function sweepCurve(ts) {
  const byRate = new Map();
  for (const t of ts) {
    for (const s of t.sweep?.steps ?? []) {
      const key = Math.round(s.offeredDeliveriesPerSec);
      if (!byRate.has(key)) byRate.set(key, []);
      byRate.get(key).push(s);
    }
  }
  // Rates every round tried (the bisection point differs from round to round).
  return [...byRate.entries()]
    .filter(([, steps]) => steps.length >= Math.ceil(ts.length / 2))
    .sort((a, b) => a[0] - b[0])
    .map(([offered, steps]) => ({
      offered,
      deliveriesPerSec: median(steps.map((s) => s.deliveriesPerSec)),
      p99: median(steps.map((s) => s.latency.p99)),
      serverCores: median(steps.map((s) => s.cpu.serverCores)),
      loadgenCores: median(steps.map((s) => s.cpu.loadgenCores)),
      cpuPerDelivery: median(steps.map((s) => s.cpu.serverUsPerDelivery)),
      passes: steps.filter((s) => s.pass).length,
      tried: steps.length,
      brokerPerChat: median(steps.map((s) => batching(s).brokerPerChat)),
      entriesPerBroker: median(steps.map((s) => batching(s).entriesPerBroker)),
      entriesUnusedShare: median(steps.map((s) => batching(s).entriesUnusedShare)),
    }));
}

const f = (v, d = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
const k = (v) =>
  v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
const range = (s, fn = f) =>
  s?.median === null || s?.median === undefined
    ? '–'
    : s.n > 1
      ? `${fn(s.median)} (${fn(s.min)}–${fn(s.max)})`
      : fn(s.median);

/** Each target of issues 6, 15 and 28: { name, holds, detail }. */
export function targets(agg, config) {
  const out = [];
  const get = (s, w) => agg[s]?.[w];
  const O = (w) => get('O', w);
  // 1. unused deliveries
  const oLoad = Object.entries(agg.O ?? {}).filter(([, g]) => g.fixed);
  if (oLoad.length) {
    const total = oLoad.reduce((a, [, g]) => a + g.fixed.unusedTotal, 0);
    out.push({
      name: 'roomcast unused broker deliveries = 0',
      holds: total === 0,
      detail: `${total} in ${oLoad.map(([w]) => w).join(', ')} (fixed load and sweep)`,
    });
  }
  // 2. CPU per delivery
  const ratio = (w, other, limit) => {
    const o = O(w)?.fixed?.cpuPerDelivery.median;
    const x = get(other, w)?.fixed?.cpuPerDelivery.median;
    if (!o || !x) return;
    out.push({
      name: `CPU/delivery ${w}: O ≤ ${limit} × ${other}`,
      holds: o <= limit * x,
      detail: `O ${f(o)} µs vs ${other} ${f(x)} µs = ${f(o / x, 2)}×`,
    });
  };
  for (const w of ['W1', 'W3']) {
    ratio(w, 'A', 0.8);
    ratio(w, 'B', 1.0);
  }
  ratio('W2', 'B', 1.25);
  // 3. p99 at the fixed load
  for (const [w, g] of oLoad) {
    out.push({
      name: `p99 ≤ 20 ms at ${k(config.rate)} deliveries/s, ${w}`,
      holds: g.fixed.p99.median !== null && g.fixed.p99.median <= 20,
      detail: `p99 ${f(g.fixed.p99.median)} ms at ${k(g.fixed.deliveriesPerSec.median)}/s`,
    });
  }
  // 4. highest sustained rate per CPU
  for (const w of Object.keys(agg.O ?? {})) {
    const o = O(w)?.sweep;
    const u = get('U', w)?.sweep;
    if (!o || !u || !u.perCore.median) continue;
    out.push({
      name: `highest sustained rate per CPU ${w}: O ≥ 0.6 × U`,
      holds: (o.perCore.median ?? 0) >= 0.6 * u.perCore.median,
      detail:
        `O ${k(o.best.median)}/s on ${f(o.cores.median, 2)} cores = ${k(o.perCore.median)}/s per core; ` +
        `U ${k(u.best.median)}/s on ${f(u.cores.median, 2)} cores = ${k(u.perCore.median)}/s per core; ` +
        `${f((o.perCore.median ?? 0) / u.perCore.median, 2)}×`,
    });
  }
  // 5. idle memory
  const idleW = Object.keys(agg.O ?? {}).find((w) => agg.O[w].idle);
  if (idleW && agg.U?.[idleW]?.idle) {
    for (const [key, label] of [
      ['heapPerConn', 'heap'],
      ['rssPerConn', 'RSS'],
    ]) {
      const o = agg.O[idleW].idle[key].median;
      const u = agg.U[idleW].idle[key].median;
      out.push({
        name: `idle ${label} per connection: O ≤ 1.2 × U`,
        holds: o <= 1.2 * u,
        detail: `O ${f(o / 1024)} KiB vs U ${f(u / 1024)} KiB = ${f(o / u, 2)}×`,
      });
    }
  }
  // Issue 15: a gateway at parity with a Socket.IO node (B), and latency to match.
  const serversUs = (sys, w) => {
    const per = get(sys, w)?.fixed?.perProcessUs;
    if (!per) return undefined;
    return Object.entries(per)
      .filter(([n]) => /^(server|gateway)\d+$/.test(n))
      .reduce((a, [, v]) => a + (v ?? 0), 0);
  };
  for (const w of ['W2', 'W3']) {
    const o = serversUs('O', w);
    const b = serversUs('B', w);
    if (o && b) {
      out.push({
        name: `gateways' CPU/delivery ${w}: O ≤ 1.15 × B's servers`,
        holds: o <= 1.15 * b,
        detail: `O ${f(o)} µs vs B ${f(b)} µs = ${f(o / b, 2)}×`,
      });
    }
  }
  for (const [w, limit] of [
    ['W2', 1.5],
    ['W3', 1.2],
  ]) {
    const o = O(w)?.fixed?.cpuPerDelivery.median;
    const b = get('B', w)?.fixed?.cpuPerDelivery.median;
    if (o && b) {
      out.push({
        name: `total server CPU/delivery ${w}: O ≤ ${limit} × B`,
        holds: o <= limit * b,
        detail: `O ${f(o)} µs vs B ${f(b)} µs = ${f(o / b, 2)}×`,
      });
    }
  }
  const oP99 = O('W2')?.fixed?.p99.median;
  const bP99 = get('B', 'W2')?.fixed?.p99.median;
  if (oP99 && bP99) {
    out.push({
      name: `p99 W2: O ≤ 2 × B`,
      holds: oP99 <= 2 * bP99,
      detail: `O ${f(oP99)} ms vs B ${f(bP99)} ms = ${f(oP99 / bP99, 2)}×`,
    });
  }
  for (const [w, g] of oLoad) {
    out.push({
      name: `p99 ≤ 50 ms at ${k(config.rate)} deliveries/s, ${w}`,
      holds: g.fixed.p99.median !== null && g.fixed.p99.median <= 50,
      detail: `p99 ${f(g.fixed.p99.median)} ms`,
    });
  }
  const oBest = O('W2')?.sweep?.best.median;
  const bBest = get('B', 'W2')?.sweep?.best.median;
  if (oBest && bBest) {
    out.push({
      name: 'highest sustained rate W2: O ≥ 0.8 × B',
      holds: oBest >= 0.8 * bBest,
      detail: `O ${k(oBest)}/s vs B ${k(bBest)}/s = ${f(oBest / bBest, 2)}×`,
    });
  }
  if (idleW && agg.U?.[idleW]?.idle) {
    const o = agg.O[idleW].idle.heapPerConn.median;
    const u = agg.U[idleW].idle.heapPerConn.median;
    out.push({
      name: 'idle heap per connection: O ≤ 1.0 × U',
      holds: o <= u,
      detail: `O ${f(o / 1024)} KiB vs U ${f(u / 1024)} KiB = ${f(o / u, 2)}×`,
    });
  }
  // Issue 28: a lone send on an idle cluster acks no more than 1 ms later than before.
  const loneO = O('W2')?.lone?.ackP50.median;
  const loneP = get('P', 'W2')?.lone?.ackP50.median;
  if (loneO !== null && loneO !== undefined && loneP !== null && loneP !== undefined) {
    out.push({
      name: 'lone send ack p50: O ≤ P (before) + 1 ms',
      holds: loneO <= loneP + 1,
      detail: `O ${f(loneO, 2)} ms vs P ${f(loneP, 2)} ms`,
    });
  }
  // Issue 28: a roomcast node carries as many deliveries per core as a Socket.IO node (B, S).
  for (const w of ['W2', 'W6']) {
    for (const other of ['B', 'S']) {
      if (w === 'W2' && other === 'B') continue; // issue 15's, above
      const o = O(w)?.sweep?.best.median;
      const x = get(other, w)?.sweep?.best.median;
      if (!o || !x) continue;
      out.push({
        name: `highest sustained rate ${w}: O ≥ 0.8 × ${other}`,
        holds: o >= 0.8 * x,
        detail: `O ${k(o)}/s vs ${other} ${k(x)}/s = ${f(o / x, 2)}×`,
      });
    }
  }
  const rabbit = O('W2')?.fixed?.perProcessUs?.rabbitmq;
  if (rabbit !== undefined && rabbit !== null) {
    out.push({
      name: `RabbitMQ CPU/delivery W2 ≤ 12 µs at ${k(config.rate)} deliveries/s`,
      holds: rabbit <= 12,
      detail: `${f(rabbit)} µs`,
    });
  }
  for (const [w, g] of oLoad.filter(([w]) => ['W1', 'W2', 'W3', 'W4'].includes(w))) {
    out.push({
      name: `p99 ≤ 25 ms at ${k(config.rate)} deliveries/s, ${w}`,
      holds: g.fixed.p99.median !== null && g.fixed.p99.median <= 25,
      detail: `p99 ${f(g.fixed.p99.median)} ms`,
    });
  }
  return out;
}

/** Ack latency of lone sends on an idle system (W2's lone phase), every system. */
function loneTable(agg, systems) {
  const rows = systems.filter((s) => agg[s]?.W2?.lone);
  if (!rows.length) return [];
  return [
    '',
    '**Lone sends on an idle system** (W2, 20 sends/s before the warm-up: each send ' +
      'alone, so batching has nothing to wait for): ack latency.',
    '',
    '| system | sends | ack p50 ms | ack p99 ms |',
    '| --- | --: | --: | --: |',
    ...rows.map((s) => {
      const l = agg[s].W2.lone;
      return `| ${s} | ${f(l.sends.median, 0)} | ${range(l.ackP50, (v) => f(v, 2))} | ${range(l.ackP99, (v) => f(v, 2))} |`;
    }),
  ];
}

/** Issue 28's measures for the --before build (P) and this one (O), from the same run. */
function beforeAfterTable(agg, c) {
  const rows = [];
  const row = (name, p, o, digits = 1, fmt = f) => {
    if (p === null || p === undefined || o === null || o === undefined) return;
    rows.push(`| ${name} | ${fmt(p, digits)} | ${fmt(o, digits)} | ${f(o / p, 2)}× |`);
  };
  const kk = (v) => k(v);
  for (const w of ['W2', 'W6']) {
    row(
      `highest sustained deliveries/s, ${w}`,
      agg.P[w]?.sweep?.best.median,
      agg.O[w]?.sweep?.best.median,
      0,
      kk,
    );
  }
  for (const w of ['W1', 'W2', 'W3', 'W4', 'W6']) {
    row(
      `server CPU µs/delivery at ${k(c.rate)}/s, ${w}`,
      agg.P[w]?.fixed?.cpuPerDelivery.median,
      agg.O[w]?.fixed?.cpuPerDelivery.median,
    );
  }
  for (const proc of ['rabbitmq', 'redis']) {
    row(
      `${proc} CPU µs/delivery at ${k(c.rate)}/s, W2`,
      agg.P.W2?.fixed?.perProcessUs?.[proc],
      agg.O.W2?.fixed?.perProcessUs?.[proc],
    );
  }
  for (const w of ['W1', 'W2', 'W3', 'W4', 'W6']) {
    row(`p99 ms at ${k(c.rate)}/s, ${w}`, agg.P[w]?.fixed?.p99.median, agg.O[w]?.fixed?.p99.median);
  }
  row(
    'broker messages per chat message at the fixed load, W2',
    agg.P.W2?.fixed?.batching?.brokerPerChat.median ?? 1,
    agg.O.W2?.fixed?.batching?.brokerPerChat.median,
    3,
  );
  row('lone send ack p50 ms', agg.P.W2?.lone?.ackP50.median, agg.O.W2?.lone?.ackP50.median, 2);
  if (!rows.length) return [];
  return [
    '',
    `**Before and after, same run**: P is the build of ${c.beforeCommit ?? 'the --before checkout'} ` +
      '(before issue 28), O this commit; medians over the rounds. (P predates the broker ' +
      'counters: its broker messages per chat message is 1, one per send, by construction.)',
    '',
    '| measure | P (before) | O (after) | O / P |',
    '| --- | --: | --: | --: |',
    ...rows,
  ];
}

function gitState() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], {
      cwd: ROOT,
    })
      .toString()
      .trim();
    return `${head}${dirty ? ' + uncommitted changes in apps/ or libs/' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** The appends measure (appends.mjs): one row per Redis master. */
function appendsTable(appends, ms) {
  const lines = [
    `**Appends per Redis master**: \`RoomHistory.appendMessage\` (the script of every accepted ` +
      `send: seq, history, retention) from one process, 64 concurrent loops over 300 rooms, ` +
      `${ms} ms on a redis-server and on a Redis Cluster of 3 masters, each started for it. ` +
      "Appends are counted for the master owning the room; a master's ceiling is 1 s divided " +
      'by its CPU per append (what one core of it would do). The one loading process is the ' +
      'limit here (its cores are shown), so the ceiling, not the measured rate, is what a ' +
      'master can take.',
    '',
    '| deployment | master | rooms | appends/s | master cores | µs CPU/append | ceiling appends/s per master core | client cores |',
    '| --- | --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const a of appends) {
    if (a.error) {
      lines.push(
        `| ${a.target} | error: ${a.error.split('\n')[0].replace(/\|/g, '\\|')} | | | | | | |`,
      );
      continue;
    }
    for (const m of a.perMaster) {
      lines.push(
        `| ${a.target} | :${m.port} | ${m.rooms} | ${k(m.appendsPerSec)} | ${f(m.cores, 2)} | ` +
          `${f(m.usPerAppend)} | ${k(m.ceilingPerSec)} | ${f(a.clientCores, 2)} |`,
      );
    }
    if (a.perMaster.length > 1) {
      const sum = a.perMaster.reduce((x, m) => x + (m.ceilingPerSec ?? 0), 0);
      lines.push(
        `| ${a.target} | all | ${a.perMaster.reduce((x, m) => x + m.rooms, 0)} | ` +
          `${k(a.appendsPerSec)} | ${f(
            a.perMaster.reduce((x, m) => x + m.cores, 0),
            2,
          )} | | ${k(sum)} | ${f(a.clientCores, 2)} |`,
      );
    }
  }
  return lines;
}

export function markdown({ meta, agg, tgts, defs, appends }) {
  const c = meta.config;
  const lines = [];
  const systems = ORDER.filter((s) => agg[s]);
  lines.push(
    `Run of ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${f(meta.durationS / 60)} min; ` +
      `commit ${meta.git}; ${meta.cpus} × ${meta.cpuModel}, ${meta.memGiB} GiB, Node ${meta.node}; ` +
      `load average ${meta.loadavgStart.map((x) => x.toFixed(2)).join(' ')} before, ` +
      `${meta.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} after. ` +
      `${c.repeats} interleaved rounds, medians (min–max over rounds). Fixed load ` +
      `${k(c.rate)} deliveries/s; ${c.warmupMs} ms warm-up, ${c.measureMs} ms measured.`,
    '',
    '**Fixed load.** Latency is send-to-receive over every delivery; CPU is utime+stime of every ' +
      'server process (Socket.IO servers or gateways, presence, stats, Redis, RabbitMQ where the ' +
      'system uses them) over the measured window, divided by the deliveries in it.',
    '',
    '| workload | system | deliveries/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/delivery | server cores | unused broker deliveries | lost / dup / out-of-order |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  );
  const loadW = Object.keys(defs).filter((w) => !defs[w].idlePerInstance);
  for (const w of loadW) {
    for (const s of systems) {
      const g = agg[s]?.[w];
      if (!g) continue;
      if (!g.fixed) {
        lines.push(`| ${w} | ${s} | error (${g.errors} trial(s)) | | | | | | | |`);
        continue;
      }
      const x = g.fixed;
      const unused =
        s === 'U'
          ? 'n/a'
          : `${k(x.unused.median)} of ${k(x.brokerDeliveries.median)} (${f(100 * x.unusedShare.median, 0)}%)`;
      const cr = g.correctness;
      lines.push(
        `| ${w} | ${s} | ${k(x.deliveriesPerSec.median)} | ${range(x.p50)} | ${range(x.p99)} | ${range(x.p999)} | ` +
          `${range(x.cpuPerDelivery)} | ${f(x.serverCores.median, 2)} | ${unused} | ${cr.lost} / ${cr.dup} / ${cr.ooo} |`,
      );
    }
  }
  lines.push('', ...breakdownTable(agg, systems, loadW));
  lines.push(...batchingTable(agg, systems, loadW));
  const beside = loadW.filter((w) => agg.O?.[w]?.fixed && agg.C?.[w]?.fixed);
  if (beside.length) {
    lines.push(
      '',
      '**roomcast on a Redis Cluster (C) beside one Redis (O)**, CPU per delivery (the three ' +
        "masters' CPU in C, the one redis-server's in O) and p99: " +
        beside
          .map((w) => {
            const [o, cl] = [agg.O[w].fixed, agg.C[w].fixed];
            return (
              `${w} ${f(cl.cpuPerDelivery.median)} vs ${f(o.cpuPerDelivery.median)} µs ` +
              `(${f(cl.cpuPerDelivery.median / o.cpuPerDelivery.median, 2)}×), ` +
              `p99 ${f(cl.p99.median)} vs ${f(o.p99.median)} ms`
            );
          })
          .join('; ') +
        '.',
    );
  }
  const churn = systems.filter((s) => agg[s]?.W4?.fixed?.joinP99.median !== null && agg[s]?.W4);
  if (churn.length) {
    lines.push(
      '',
      `W4 churn: ${churn
        .map(
          (s) =>
            `${s} ${f(agg[s].W4.fixed.joinsPerSec.median, 0)} joins/s, join ack p99 ${f(agg[s].W4.fixed.joinP99.median)} ms`,
        )
        .join('; ')}.`,
    );
  }
  const swW = [
    ...new Set(systems.flatMap((s) => Object.keys(agg[s]).filter((w) => agg[s][w].sweep))),
  ];
  for (const w of swW) {
    lines.push(
      '',
      `**Highest sustained rate, ${w}** (p99 ≤ ${c.p99LimitMs} ms, ≥ 95% of the offered rate delivered, ` +
        `nothing lost; rates ×${c.sweepFactor} from ${k(c.sweepStart)}/s, then one step between the ` +
        `last pass and the first failure; ${c.stepMs} ms per step).`,
      '',
      '| system | highest sustained deliveries/s | server cores at it | deliveries/s per server core | at the first failing step: p99 ms, load-generator cores, machine cores |',
      '| --- | --: | --: | --: | --: |',
    );
    for (const s of systems) {
      const g = agg[s]?.[w]?.sweep;
      if (!g) continue;
      lines.push(
        `| ${s} | ${range(g.best, k)} | ${f(g.cores.median, 2)} | ${k(g.perCore.median)} | ` +
          `${f(g.limitP99.median)}, ${f(g.loadgenCoresAtLimit.median, 2)}, ${f(g.machineCoresAtLimit.median, 2)} |`,
      );
    }
    lines.push(...stepsTable(agg, systems, w));
  }
  const idleW = Object.keys(defs).filter((w) => defs[w].idlePerInstance);
  for (const w of idleW) {
    lines.push(
      '',
      `**Idle connections, ${w}**: after a full GC in every socket-holding process (Socket.IO ` +
        'servers, roomcast gateways), growth divided by the connections; Redis `used_memory` ' +
        'growth likewise.',
      '',
      '| system | connections | heap KiB/conn | RSS KiB/conn | Redis KiB/conn |',
      '| --- | --: | --: | --: | --: |',
    );
    for (const s of systems) {
      const g = agg[s]?.[w]?.idle;
      if (!g) continue;
      const kib = (v) => f(v / 1024, 2);
      lines.push(
        `| ${s} | ${g.connections} | ${range(g.heapPerConn, kib)} | ${range(g.rssPerConn, kib)} | ${kib(g.redisPerConn.median)} |`,
      );
    }
  }
  lines.push(...loneTable(agg, systems));
  if (agg.P && agg.O) lines.push(...beforeAfterTable(agg, c));
  if (appends?.length) lines.push('', ...appendsTable(appends, c.appendsMs));
  if (tgts.length) {
    lines.push('', '**Targets**', '', '| target | holds | measured |', '| --- | --- | --- |');
    for (const t of tgts) lines.push(`| ${t.name} | ${t.holds ? 'yes' : '**no**'} | ${t.detail} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG chart, written by hand: grouped bars for CPU/delivery and p99, lines for the sweep.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

function barPanel({ x, y, w, h, title, unit, groups, systems, value }) {
  const parts = [];
  const vals = groups.flatMap((g) => systems.map((s) => value(s, g))).filter((v) => v > 0);
  const max = Math.max(...vals, 1e-9);
  const scale = (v) => (v > 0 ? (v / max) * (h - 40) : 0);
  parts.push(`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`);
  const gw = w / groups.length;
  const bw = Math.min(28, (gw - 16) / systems.length);
  const base = y + h - 18;
  parts.push(`<line x1="${x}" y1="${base}" x2="${x + w}" y2="${base}" class="ax"/>`);
  groups.forEach((g, gi) => {
    const gx = x + gi * gw + (gw - bw * systems.length) / 2;
    systems.forEach((s, si) => {
      const v = value(s, g);
      if (v === null || v === undefined) return;
      const bh = scale(v);
      const bx = gx + si * bw;
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${(base - bh).toFixed(1)}" width="${(bw - 3).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[s]}"><title>${s} ${g}: ${v.toFixed(1)} ${unit}</title></rect>`,
        `<text x="${(bx + (bw - 3) / 2).toFixed(1)}" y="${(base - bh - 3).toFixed(1)}" class="v">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`,
      );
    });
    parts.push(
      `<text x="${(x + gi * gw + gw / 2).toFixed(1)}" y="${base + 14}" class="g">${esc(g)}</text>`,
    );
  });
  return parts.join('\n');
}

function linePanel({ x, y, w, h, title, series, limit }) {
  const parts = [`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`];
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return parts.join('\n');
  const maxX = Math.max(...pts.map((p) => p.x)) * 1.05;
  const yTop = 200;
  const px = (v) => x + 40 + (v / maxX) * (w - 50);
  const py = (v) => y + h - 20 - (Math.min(v, yTop) / yTop) * (h - 45);
  parts.push(
    `<line x1="${x + 40}" y1="${y + h - 20}" x2="${x + w}" y2="${y + h - 20}" class="ax"/>`,
    `<line x1="${x + 40}" y1="${y + 25}" x2="${x + 40}" y2="${y + h - 20}" class="ax"/>`,
  );
  for (const tick of [0, 50, 100, 150, 200]) {
    parts.push(`<text x="${x + 34}" y="${py(tick) + 4}" class="yl">${tick}</text>`);
  }
  const step = maxX > 60000 ? 20000 : maxX > 20000 ? 10000 : maxX > 5000 ? 2000 : 500;
  for (let t = 0; t <= maxX; t += step) {
    parts.push(
      `<text x="${px(t)}" y="${y + h - 6}" class="g">${t >= 1000 ? `${t / 1000}k` : t}</text>`,
    );
  }
  parts.push(
    `<line x1="${x + 40}" y1="${py(limit)}" x2="${x + w}" y2="${py(limit)}" class="lim"/>`,
    `<text x="${x + w - 4}" y="${py(limit) - 4}" class="yl">p99 limit ${limit} ms</text>`,
  );
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`);
    parts.push(
      `<path d="${d.join(' ')}" fill="none" stroke="${COLORS[s.system]}" stroke-width="2"/>`,
    );
    for (const p of s.points) {
      parts.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${COLORS[s.system]}"><title>${s.system}: ${p.x.toFixed(0)}/s p99 ${p.y.toFixed(1)} ms</title></circle>`,
      );
    }
  }
  return parts.join('\n');
}

export function chart({ agg, meta, defs }) {
  const systems = ORDER.filter((s) => agg[s]);
  const loadW = Object.keys(defs).filter(
    (w) => !defs[w].idlePerInstance && systems.some((s) => agg[s]?.[w]?.fixed),
  );
  const W = 980;
  const panels = [];
  let y = 40;
  panels.push(
    barPanel({
      x: 20,
      y,
      w: 460,
      h: 220,
      title: `Server CPU µs per delivery at ${k(meta.config.rate)} deliveries/s (lower is better)`,
      unit: 'µs',
      groups: loadW,
      systems,
      value: (s, w) => agg[s]?.[w]?.fixed?.cpuPerDelivery.median ?? null,
    }),
    barPanel({
      x: 500,
      y,
      w: 460,
      h: 220,
      title: `p99 send-to-receive latency, ms, at ${k(meta.config.rate)} deliveries/s`,
      unit: 'ms',
      groups: loadW,
      systems,
      value: (s, w) => agg[s]?.[w]?.fixed?.p99.median ?? null,
    }),
  );
  y += 240;
  const swW = loadW.find((w) => systems.some((s) => agg[s]?.[w]?.sweep));
  if (swW) {
    panels.push(
      linePanel({
        x: 20,
        y,
        w: 460,
        h: 240,
        title: `${swW}: p99 ms vs delivered deliveries/s (sweep)`,
        limit: meta.config.p99LimitMs,
        series: systems
          .filter((s) => agg[s]?.[swW]?.sweep)
          .map((s) => ({
            system: s,
            points: agg[s][swW].sweep.curve.map((p) => ({ x: p.deliveriesPerSec, y: p.p99 })),
          })),
      }),
    );
  }
  const idleW = Object.keys(defs).find((w) => defs[w].idlePerInstance);
  if (idleW && systems.some((s) => agg[s]?.[idleW]?.idle)) {
    panels.push(
      barPanel({
        x: 500,
        y,
        w: 460,
        h: 240,
        title: `Idle connection: KiB per connection (${idleW})`,
        unit: 'KiB',
        groups: ['heap', 'RSS'],
        systems,
        value: (s, g) => {
          const i = agg[s]?.[idleW]?.idle;
          if (!i) return null;
          return (g === 'heap' ? i.heapPerConn.median : i.rssPerConn.median) / 1024;
        },
      }),
    );
  }
  y += 260;
  // Three labels a line: five do not fit in the width.
  const legend = systems
    .map((s, i) => {
      const lx = 20 + (i % 3) * 320;
      const ly = y + Math.floor(i / 3) * 18;
      return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[s]}"/><text x="${lx + 18}" y="${ly + 11}" class="lg">${esc(SYSTEMS[s].label)}</text>`;
    })
    .join('\n');
  const H = y + 12 + Math.ceil(systems.length / 3) * 18;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif">
<style>
.t { font-size: 13px; font-weight: bold; fill: #222; }
.g { font-size: 11px; fill: #333; text-anchor: middle; }
.lg { font-size: 11px; fill: #333; }
.v { font-size: 9px; fill: #333; text-anchor: middle; }
.yl { font-size: 10px; fill: #555; text-anchor: end; }
.ax { stroke: #999; stroke-width: 1; }
.lim { stroke: #c00; stroke-width: 1; stroke-dasharray: 4 3; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="22" class="t">roomcast benchmark, ${esc(meta.startedAt.slice(0, 10))}: ${meta.cpus} cores shared by servers, broker, Redis and the load generator; medians of ${meta.config.repeats} rounds</text>
${panels.join('\n')}
${legend}
</svg>
`;
}

async function pretty(file, text) {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

/** Writes results.json, results.md and chart.svg to `out` (and the README's results section). */
export async function writeReport({ meta, trials, appends = [], defs, out, smoke }) {
  meta.git = gitState();
  const agg = aggregate(trials);
  const tgts = targets(agg, meta.config);
  const md = markdown({ meta, agg, tgts, defs, appends });
  const svg = chart({ agg, meta, defs });
  const files = [];
  const json = join(out, 'results.json');
  await pretty(
    json,
    JSON.stringify({ meta, workloads: defs, aggregate: agg, targets: tgts, appends, trials }),
  );
  files.push(json);
  const mdFile = join(out, 'results.md');
  await pretty(mdFile, `# Benchmark results\n\n${md}\n\n![chart](chart.svg)\n`);
  files.push(mdFile);
  const svgFile = join(out, 'chart.svg');
  writeFileSync(svgFile, svg);
  files.push(svgFile);
  const readme = join(out, 'README.md');
  if (!smoke && existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- results:begin -->';
    const end = '<!-- results:end -->';
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a >= 0 && b > a) {
      await pretty(readme, `${text.slice(0, a + begin.length)}\n\n${md}\n\n${text.slice(b)}`);
      files.push(readme);
    }
  }
  return files;
}
