// The run's tables in Markdown: the fixed load, where the server CPU goes, roomcast's broker
// batching, the sweeps, idle memory, lone sends, before and after, appends and the targets.
import { fmt as f, fmtRate as k, fmtSpread as range, utcMinute } from '../log.mjs';
import { ROOMCAST, SYSTEMS } from '../constants.mjs';

/** The parts of a system the CPU breakdown shows, by process name. */
const PARTS = [
  ['Socket.IO servers / gateways', (n) => /^(server|gateway)\d+$/.test(n)],
  ['presence', (n) => n === 'presence' || /^presence\d+$/.test(n)],
  // 'stats': the api service's name in runs before it was renamed.
  ['api service', (n) => n === 'api' || n === 'stats'],
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
  for (const w of ['W2', 'W6']) {
    row(
      `highest sustained deliveries/s, ${w}`,
      agg.P[w]?.sweep?.best.median,
      agg.O[w]?.sweep?.best.median,
      0,
      k,
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
  const systems = Object.keys(SYSTEMS).filter((s) => agg[s]);
  lines.push(
    `Run of ${utcMinute(meta.startedAt)} UTC, ${f(meta.durationS / 60)} min; ` +
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
