// Orchestration: rounds of systems × workloads, one trial per pair, each trial with a load
// generator of its own; then the report and the verdict.
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { measureAppends } from './appends.mjs';
import { SYSTEMS } from './constants.mjs';
import { requireServices } from './harness.mjs';
import { connectMembers, withLoadgen } from './loadgen-client.mjs';
import { elapsedS, fail, fmt, fmtRate, log } from './log.mjs';
import { machine } from './meta.mjs';
import { finalCheck, fixedLoad, measuredPhase, settle, sweep } from './measure.mjs';
import { findInfrastructure } from './proc.mjs';
import { runProfile } from './profile.mjs';
import { writeReport } from './report/write.mjs';
import { startSystem } from './systems.mjs';
import { layout } from './workloads.mjs';

/**
 * The whole run: every round starts each system in turn (rotated from round to round), runs the
 * idle workloads on its fresh processes, then the load workloads, and stops it; then the report.
 * Resolves to the exit code: 0, or 1 when a trial lost, duplicated or reordered a delivery.
 */
export async function runBenchmark({ config, defs, profile }) {
  try {
    await requireServices('redis', 'rabbitmq');
  } catch (err) {
    fail(err.message);
  }
  const infra = findInfrastructure(config.redisUrl);
  log(`redis-server pid ${infra.redisPid ?? '?'}, RabbitMQ beam.smp pid ${infra.beamPid ?? '?'}`);

  if (profile) {
    await runProfile({ config, infra, defs });
    return 0;
  }

  mkdirSync(config.out, { recursive: true });
  const runId = Date.now().toString(36);
  const meta = { ...machine(), config: { ...config, out: undefined } };
  const trials = [];
  const ctx = { config, defs };
  const loadWorkloads = config.workloads.filter((w) => !defs[w].idlePerInstance);
  const idleWorkloads = config.workloads.filter((w) => defs[w].idlePerInstance);
  for (let round = 0; round < config.repeats; round++) {
    // Interleaved: every round runs every system, in an order rotated from round to round.
    const order = config.systems.map((_, i) => config.systems[(i + round) % config.systems.length]);
    for (const kind of order) {
      log(`round ${round + 1}/${config.repeats}: starting ${SYSTEMS[kind].label}`);
      let sys;
      try {
        sys = await startSystem(kind, {
          runId,
          redisUrl: config.redisUrl,
          infra,
          before: config.before,
        });
      } catch (err) {
        trials.push({ system: kind, workload: '*', round, error: String(err?.stack ?? err) });
        log(`  ${kind} did not start: ${err.message}`);
        continue;
      }
      try {
        // Idle memory first, on fresh processes, so earlier load does not inflate the baseline.
        for (const wName of [...idleWorkloads, ...loadWorkloads]) {
          const trial = { system: kind, workload: wName, round };
          try {
            if (defs[wName].idlePerInstance) trial.idle = await idleTrial(sys, wName, round, ctx);
            else Object.assign(trial, await loadTrial(sys, wName, round, ctx));
            trial.final = trial.idle?.final ?? trial.final;
          } catch (err) {
            trial.error = String(err?.stack ?? err);
            if (!sys.alive()) trial.error += `\n${sys.logs()}`;
          }
          trials.push(trial);
          log(`  ${kind} ${wName}: ${summarise(trial)}`);
          if (!sys.alive()) {
            log(`  ${kind}: a process died; logs:\n${sys.logs()}`);
            break;
          }
        }
      } finally {
        await sys.stop().catch((err) => log(`  ${kind} clean-up failed: ${err.message}`));
      }
    }
  }
  let appends = [];
  if (config.appendsMs > 0) {
    log(`appends per Redis master, ${config.appendsMs} ms on each deployment`);
    appends = await measureAppends({ durationMs: config.appendsMs });
  }
  meta.finishedAt = new Date().toISOString();
  meta.durationS = elapsedS();
  meta.loadavgEnd = loadavg();
  const files = await writeReport({
    meta,
    trials,
    appends,
    defs,
    out: config.out,
    smoke: config.smoke,
  });
  log(`wrote ${files.join(', ')}`);

  const bad = [
    ...trials.flatMap((t) =>
      problems(t).map((p) => `${t.system} ${t.workload} round ${t.round + 1}: ${p}`),
    ),
    ...appends
      .filter((a) => a.error || a.errors > 0)
      .map(
        (a) =>
          `appends on ${a.target}: ${a.error?.split('\n')[0] ?? `${a.errors} failed, last: ${a.lastError}`}`,
      ),
  ];
  if (bad.length) {
    process.stderr.write(`[bench] FAILED:\n  ${bad.join('\n  ')}\n`);
    return 1;
  }
  log(`ok: no lost, duplicated or out-of-order delivery in ${trials.length} trials`);
  return 0;
}

/** One progress line per trial. */
function summarise(t) {
  if (t.error) return `ERROR ${t.error.split('\n')[0]}`;
  if (t.idle) {
    return `${t.idle.connections} idle: heap ${fmt(t.idle.heapPerConn / 1024)} KiB/conn, rss ${fmt(
      t.idle.rssPerConn / 1024,
    )} KiB/conn, connect ${fmt(t.idle.connectMs / 1000)} s`;
  }
  const f = t.fixed;
  const sw = t.sweep?.best ? `, max ${fmtRate(t.sweep.best.deliveriesPerSec)}/s` : '';
  const b = f.broker;
  const batched = b.roomMessagesPublished
    ? `, ${fmt(b.roomMessagesPublished / b.accepted, 3)} broker msgs/chat msg, ` +
      `${fmt(b.roomEntriesPublished / b.roomMessagesPublished)} entries/broker msg`
    : '';
  return (
    `${fmtRate(f.deliveriesPerSec)}/s p50 ${fmt(f.latency.p50)} p99 ${fmt(f.latency.p99)} ` +
    `p99.9 ${fmt(f.latency.p999)} ms, ${fmt(f.cpu.serverUsPerDelivery)} µs/delivery, ` +
    `unused ${f.broker.unused}${batched}, lost ${t.final.lost} dup ${t.final.dup} ooo ${t.final.ooo}${sw}`
  );
}

/** Idle connections on fresh processes: heap, RSS and Redis memory per connection. */
async function idleTrial(sys, wName, round, { config, defs }) {
  const w = { ...defs[wName] };
  if (config.idlePerInstance) w.idlePerInstance = config.idlePerInstance;
  const tag = `${sys.kind}${round}${wName}`;
  const lay = layout(w, sys.urls, `${sys.id}-${round}${wName}`);
  await settle(sys);
  const before = await sys.memory();
  const redis0 = await sys.redisMemory();
  return withLoadgen(async (lg) => {
    const ready = await connectMembers(lg, 'idle', { tag, members: lay.members });
    await sleep(1000);
    await settle(sys);
    const after = await sys.memory();
    const redis1 = await sys.redisMemory();
    const n = lay.members.length;
    const grew = (k) => after.reduce((a, m) => a + m[k], 0) - before.reduce((a, m) => a + m[k], 0);
    return {
      connections: n,
      perInstance: w.idlePerInstance,
      connectMs: ready.connectMs,
      heapPerConn: grew('heapUsed') / n,
      rssPerConn: grew('rss') / n,
      redisPerConn: (redis1 - redis0) / n,
      before,
      after,
      final: await finalCheck(lg),
    };
  });
}

/** Sends per second of the lone-send phase: one every 50 ms, far apart from each other. */
const LONE_SENDS_PER_SEC = 20;

/** The lone sends (W2), warm-up, the fixed load, the sweep where asked, then the final check. */
async function loadTrial(sys, wName, round, { config, defs }) {
  const tag = `${sys.kind}${round}${wName}`;
  const lay = layout(defs[wName], sys.urls, tag);
  await settle(sys);
  return withLoadgen(async (lg) => {
    const ready = await connectMembers(lg, 'setup', { tag, ...lay });
    // Lone sends on an idle system (W2 only): a few per second, each alone in the pipeline, so
    // their ack latency is what batching may not slow down.
    const lone =
      wName === 'W2'
        ? await measuredPhase(lg, sys, {
            name: 'lone',
            sendsPerSec: LONE_SENDS_PER_SEC,
            durationMs: config.smoke ? 1000 : 4000,
            churnPerSec: 0,
            drainMs: 2000,
          })
        : undefined;
    const { warm, fixed } = await fixedLoad(lg, sys, lay, config);
    const sw = config.sweep.includes(wName)
      ? await sweep(lg, sys, lay, lay.churn?.perSec ?? 0, config)
      : undefined;
    const final = await finalCheck(lg);
    return {
      setup: { ...ready, fanout: lay.fanout, sendsPerSec: config.rate / lay.fanout },
      warmupOk: warm.lost === 0 && warm.dup === 0 && warm.ooo === 0,
      lone,
      fixed,
      sweep: sw,
      final,
    };
  });
}

/** What makes a trial fail the run: a harness error or any loss, duplicate or reordering. */
function problems(trial) {
  const out = [];
  if (trial.error) out.push(`harness: ${trial.error.split('\n')[0]}`);
  const f = trial.final;
  if (f) {
    for (const k of ['lost', 'dup', 'ooo', 'unacked', 'ackErrors', 'churnErrors', 'disconnects']) {
      if (f[k] > 0) out.push(`${k}=${f[k]}`);
    }
    if (f.foreign > 0) out.push(`foreign=${f.foreign}`);
    if (f.lost > 0 && f.lastError) out.push(`last error: ${f.lastError}`);
  }
  if (trial.fixed && trial.fixed.deliveries === 0) out.push('no deliveries in the fixed phase');
  return out;
}
