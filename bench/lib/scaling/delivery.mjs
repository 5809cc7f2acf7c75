// Deliveries per gateway core, from a run of `npm run bench` (its results.json): system O's
// fixed-load trials of W1, W2 and W3 give, per trial, the sends, the broker's deliveries into the
// gateways' queues, the deliveries to clients, and each process's CPU. A gateway's CPU is fitted
// (least squares over the trials) as  a·sends + b·broker deliveries + c·client deliveries, and the
// broker's as  p·sends (publishes) + q·broker deliveries + its idle cores: costs that a plan with other room sizes
// and other spreads over gateways can be priced with. The W2 sweep's highest rate stays beside
// them as what one machine sustained.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../constants.mjs';
import { log } from '../log.mjs';
import { sumUs as sum } from '../proc.mjs';
import { aggregate } from '../report/aggregate.mjs';
import { round, spread } from '../stats.mjs';

/** Least squares: the x minimising |A x - y| (normal equations, Gaussian elimination). */
export function leastSquares(rows, ys) {
  const k = rows[0].length;
  const m = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k + 1 }, (_, j) =>
      rows.reduce((s, r, t) => s + r[i] * (j < k ? r[j] : ys[t]), 0),
    ),
  );
  for (let i = 0; i < k; i++) {
    let p = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(m[r][i]) > Math.abs(m[p][i])) p = r;
    [m[i], m[p]] = [m[p], m[i]];
    for (let r = 0; r < k; r++) {
      if (r === i || m[i][i] === 0) continue;
      const f = m[r][i] / m[i][i];
      for (let c = i; c <= k; c++) m[r][c] -= f * m[i][c];
    }
  }
  return m.map((row, i) => row[k] / row[i]);
}

/** Runs `npm run bench` narrowly (O; W1, W2, W3) into a temporary directory; resolves its file. */
export function runBench({ repeats, timeLimitS }) {
  const out = mkdtempSync(join(tmpdir(), 'roomcast-scaling-bench-'));
  const args = [
    join(ROOT, 'bench/run.mjs'),
    '--systems',
    'O',
    '--workloads',
    'W1,W2,W3',
    '--repeats',
    String(repeats),
    '--time-limit-s',
    String(timeLimitS),
    '--out',
    out,
  ];
  log(`delivery: node ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code) => {
      const file = join(out, 'results.json');
      if (existsSync(file)) resolve(file);
      else reject(new Error(`npm run bench exited ${code} without results.json`));
    });
  });
}

/** The delivery budget from a bench results.json. */
export function deliveryBudget(file) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const trials = r.trials.filter((t) => t.system === 'O' && t.fixed && !t.error);
  if (!trials.some((t) => t.workload === 'W1') || !trials.some((t) => t.workload === 'W2')) {
    throw new Error(`${file} has no O W1 and W2 trials`);
  }
  const rows = trials.map((t) => ({
    workload: t.workload,
    round: t.round,
    sends: t.fixed.sent,
    brokerDeliveries: t.fixed.broker.deliveries,
    deliveries: t.fixed.deliveries,
    windowS: t.fixed.windowMs / 1000,
    gatewaysUs: sum(t.fixed.cpu.perProcessUs, 'gateway'),
    rabbitUs: t.fixed.cpu.perProcessUs.rabbitmq,
    redisUs: t.fixed.cpu.perProcessUs.redis,
    gatewayUsPerDelivery: round(sum(t.fixed.cpu.perProcessUs, 'gateway') / t.fixed.deliveries),
  }));
  const gw = leastSquares(
    rows.map((x) => [x.sends, x.brokerDeliveries, x.deliveries]),
    rows.map((x) => x.gatewaysUs),
  );
  const broker = leastSquares(
    rows.map((x) => [x.sends, x.brokerDeliveries, x.windowS]),
    rows.map((x) => x.rabbitUs),
  );
  const byWorkload = (w, f) => spread(rows.filter((x) => x.workload === w).map(f));
  // From the trials, not the file's stored aggregate: medians as bench/lib/stats.mjs takes them.
  const w2 = aggregate(r.trials).O?.W2?.sweep;
  return {
    source: {
      startedAt: r.meta.startedAt,
      git: r.meta.git,
      loadavgStart: r.meta.loadavgStart,
      loadavgEnd: r.meta.loadavgEnd,
      repeats: r.meta.config.repeats,
    },
    trials: rows,
    gatewayUsPerDelivery: {
      W1: byWorkload('W1', (x) => x.gatewayUsPerDelivery),
      W2: byWorkload('W2', (x) => x.gatewayUsPerDelivery),
      W3: byWorkload('W3', (x) => x.gatewayUsPerDelivery),
    },
    // A gateway core's deliveries/s at each workload's cost (1 s / gateway µs per delivery).
    deliveriesPerGatewayCore: {
      W2: spread(rows.filter((x) => x.workload === 'W2').map((x) => 1e6 / x.gatewayUsPerDelivery)),
      W3: spread(rows.filter((x) => x.workload === 'W3').map((x) => 1e6 / x.gatewayUsPerDelivery)),
    },
    fit: {
      gatewayUsPerSend: round(gw[0], 1),
      gatewayUsPerBrokerDelivery: round(gw[1], 1),
      gatewayUsPerClientDelivery: round(gw[2], 1),
      brokerUsPerPublish: round(broker[0], 1),
      brokerUsPerQueueDelivery: round(broker[1], 1),
      // Heartbeats, liveness checks, metrics: what the broker spends with no message at all.
      brokerIdleCores: round(broker[2] / 1e6, 3),
      redisUsPerAppend: round(
        rows.reduce((a, x) => a + x.redisUs, 0) / rows.reduce((a, x) => a + x.sends, 0),
        1,
      ),
    },
    sweepW2: w2
      ? {
          bestDeliveriesPerSec: w2.best,
          perServerCore: w2.perCore,
          serverCores: w2.cores,
          machineCoresAtLimit: w2.machineCoresAtLimit,
        }
      : null,
    appends: (r.appends ?? []).filter((a) => !a.error),
  };
}
