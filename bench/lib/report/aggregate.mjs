// The trials of a run turned into figures per system and workload: for each, its median over the
// rounds with min, max and the values (bench/lib/stats.mjs), summed correctness counts, the
// sweep's curve and roomcast's broker batching.
import { median, spread } from '../stats.mjs';
import { ROOMCAST } from '../constants.mjs';

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

/** `get(trial)` over the trials (null where it throws): { median, min, max, n, values }. */
function stat(trials, get) {
  const values = trials.map((t) => {
    try {
      return get(t);
    } catch {
      return null;
    }
  });
  const { median: m, min, max, n } = spread(values);
  return { median: m, ...(n ? { min, max, n } : {}), values };
}

/** Each of `keys` of `of(trial)` as a stat over the trials. */
const stats = (ts, keys, of) =>
  Object.fromEntries(keys.map((key) => [key, stat(ts, (t) => of(t)[key])]));

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
      const counts = ['sent', 'expected', 'lost', 'dup', 'ooo', 'unacked', 'ackErrors'];
      g.correctness = Object.fromEntries(counts.map((k) => [k, sum(k)]));
      if (ts.some((t) => t.idle)) {
        g.idle = {
          connections: ts[0]?.idle.connections,
          perInstance: ts[0]?.idle.perInstance,
          ...stats(ts, ['heapPerConn', 'rssPerConn', 'redisPerConn', 'connectMs'], (t) => t.idle),
        };
      } else if (ts.length) {
        g.fixed = fixedLoad(ts);
        if (ts.some((t) => t.lone)) {
          g.lone = {
            ackP50: stat(ts, (t) => t.lone?.ack.p50 ?? null),
            ackP99: stat(ts, (t) => t.lone?.ack.p99 ?? null),
            sends: stat(ts, (t) => t.lone?.ack.n ?? null),
          };
        }
        if (ROOMCAST.includes(ts[0].system)) {
          const keys = Object.keys(batching(ts[0].fixed));
          g.fixed.batching = stats(ts, keys, (t) => batching(t.fixed));
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

/** The fixed-load phase's figures over the trials of one system and workload. */
function fixedLoad(ts) {
  const unusedAll = (t) =>
    t.fixed.broker.unused + (t.sweep?.steps ?? []).reduce((a, s) => a + s.broker.unused, 0);
  return {
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
}

/** Each process's CPU per delivery, its median over the trials. */
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

/** The sweep's steps by offered rate, medians over the rounds that tried the rate. */
function sweepCurve(ts) {
  const byRate = new Map();
  for (const t of ts) {
    for (const s of t.sweep?.steps ?? []) {
      const key = Math.round(s.offeredDeliveriesPerSec);
      if (!byRate.has(key)) byRate.set(key, []);
      byRate.get(key).push(s);
    }
  }
  // Rates most rounds tried (the bisection point differs from round to round).
  return [...byRate.entries()]
    .filter(([, steps]) => steps.length >= Math.ceil(ts.length / 2))
    .sort((a, b) => a[0] - b[0])
    .map(([offered, steps]) => {
      const m = (get) => median(steps.map(get));
      return {
        offered,
        deliveriesPerSec: m((s) => s.deliveriesPerSec),
        p99: m((s) => s.latency.p99),
        serverCores: m((s) => s.cpu.serverCores),
        loadgenCores: m((s) => s.cpu.loadgenCores),
        cpuPerDelivery: m((s) => s.cpu.serverUsPerDelivery),
        passes: steps.filter((s) => s.pass).length,
        tried: steps.length,
        brokerPerChat: m((s) => batching(s).brokerPerChat),
        entriesPerBroker: m((s) => batching(s).entriesPerBroker),
        entriesUnusedShare: m((s) => batching(s).entriesUnusedShare),
      };
    });
}
