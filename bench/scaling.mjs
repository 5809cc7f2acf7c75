#!/usr/bin/env node
// The scaling sweep: `npm run bench:scaling` (writes docs/benchmarks/scaling.json; docs/scaling.md
// summarises it) or `npm run bench:scaling -- --quick` (small sizes, short windows, a temp file).
// It measures the per-instance budget that `npm run bench` does not give:
//   conns     connections one gateway holds, idle and chatting        (lib/scaling/conns.mjs)
//   churn     bind + unbind ops/s before join latency grows           (lib/scaling/churn.mjs)
//   queues    classic vs quorum queue throughput, amqplib alone       (lib/scaling/queues.mjs)
//   presence  changes/s one presence replica applies                  (lib/scaling/presence-rate.mjs)
//   appends   appends/s per Redis master                              (lib/appends.mjs)
//   delivery  deliveries/s per gateway core, from `npm run bench`     (lib/scaling/delivery.mjs)
// churn, queues and presence run on the machine's RabbitMQ and on a 3-node RabbitMQ cluster
// started for the run (startRabbitCluster) and stopped after it, also on failure.
// Then `npm run bench:model` (bench/scaling-model.mjs) sizes a deployment from the JSON.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureAppends } from './lib/appends.mjs';
import { DOCS_DIR, P99_LIMIT_MS } from './lib/constants.mjs';
import { machine as machineMeta, shortHead } from './lib/meta.mjs';
import {
  AMQP_URL,
  REDIS_URL,
  ROOT,
  killAll,
  requireServices,
  startRabbitCluster,
} from './lib/harness.mjs';
import { fail, log, runMain } from './lib/log.mjs';
import { findInfrastructure } from './lib/proc.mjs';
import { writePretty } from './lib/report/write.mjs';
import { deriveBudget, rebudget } from './lib/scaling/budget.mjs';
import { measureChurn } from './lib/scaling/churn.mjs';
import { clusterBeams } from './lib/scaling/common.mjs';
import { measureConnections } from './lib/scaling/conns.mjs';
import { deliveryBudget, runBench } from './lib/scaling/delivery.mjs';
import { measurePresenceRate } from './lib/scaling/presence-rate.mjs';
import { measureQueues } from './lib/scaling/queues.mjs';
import { summaryMarkdown } from './lib/scaling/summary.mjs';

const PARTS = ['delivery', 'conns', 'churn', 'queues', 'presence', 'appends'];
const USAGE = `usage: npm run bench:scaling -- [options]
  --quick                 small sizes and short windows (about 6 minutes); writes a temp file
  --parts a,b             of ${PARTS.join(',')} (default all)
  --repeats N             rounds of each measure (default 2; quick 1)
  --sizes N,...           connections on one gateway (default 2000,8000,18000)
  --idle-window-ms N      idle CPU window (default 25000: one Socket.IO ping interval)
  --chat-rate N           deliveries/s while chatting (default 2000)
  --churn-rates N,...     join+leave cycles/s (default 50,100,200,400,800,1600)
  --p99-limit-ms N        join/leave ack p99 limit of the churn sweep (default 50)
  --no-control            skip the churn control (joins into rooms that stay bound)
  --no-cluster            skip the 3-node RabbitMQ cluster
  --bench-results FILE    a results.json of \`npm run bench\` (O with W1,W2,W3) instead of a run
  --summary FILE          print FILE's figures as Markdown tables (no measuring)
  --rebudget FILE         derive FILE's delivery part and budget again from its raw measures
                          (no measuring; node bench/report.mjs does it for docs/benchmarks)
  --out FILE              default docs/benchmarks/scaling.json (quick: a temp file)
  --time-limit-s N        abort after N s (default 2400; quick 900)
`;

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    parts: { type: 'string' },
    repeats: { type: 'string' },
    sizes: { type: 'string' },
    'idle-window-ms': { type: 'string' },
    'chat-rate': { type: 'string' },
    'churn-rates': { type: 'string' },
    'p99-limit-ms': { type: 'string' },
    'no-control': { type: 'boolean', default: false },
    'no-cluster': { type: 'boolean', default: false },
    'bench-results': { type: 'string' },
    out: { type: 'string' },
    summary: { type: 'string' },
    rebudget: { type: 'string' },
    'time-limit-s': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.summary || args.rebudget) {
  const file = resolve(args.summary ?? args.rebudget);
  const result = rebudget(JSON.parse(readFileSync(file, 'utf8')));
  if (args.rebudget) await writePretty(file, JSON.stringify(result, null, 2));
  else process.stdout.write(summaryMarkdown(result));
  process.exit(0);
}
const quick = args.quick;
const nums = (v, d) => (v === undefined ? d : v.split(',').filter(Boolean).map(Number));
const num = (v, d) => (v === undefined ? d : Number(v));
const config = {
  quick,
  parts: args.parts ? args.parts.split(',') : PARTS,
  repeats: num(args.repeats, quick ? 1 : 2),
  sizes: nums(args.sizes, quick ? [500, 2000] : [2000, 8000, 18000]),
  idleWindowMs: num(args['idle-window-ms'], quick ? 5000 : 25000),
  chatDeliveriesPerSec: num(args['chat-rate'], 2000),
  chatMeasureMs: quick ? 3000 : 8000,
  churnRates: nums(args['churn-rates'], quick ? [50, 200, 800] : [50, 100, 200, 400, 800, 1600]),
  p99LimitMs: num(args['p99-limit-ms'], P99_LIMIT_MS),
  churnStepMs: quick ? 2000 : 5000,
  rawBindMs: quick ? 1000 : 3000,
  queueMs: quick ? 2000 : 4000,
  presenceSockets: quick ? 3000 : 15000,
  appendsMs: quick ? 1000 : 5000,
  control: !args['no-control'],
  cluster: !args['no-cluster'],
  benchResults: args['bench-results'] ? resolve(args['bench-results']) : null,
  timeLimitS: num(args['time-limit-s'], quick ? 900 : 2400),
  out: resolve(
    args.out ?? (quick ? join(tmpdir(), 'roomcast-scaling.json') : join(DOCS_DIR, 'scaling.json')),
  ),
};
for (const p of config.parts) if (!PARTS.includes(p)) fail(`unknown part ${p}`);

let rabbitCluster;

/** A part's measure, or { error } when it failed: one failed part does not lose the others. */
async function attempt(what, fn) {
  try {
    return await fn();
  } catch (err) {
    log(`  ${what}: ERROR ${err.message}`);
    return { label: what, error: String(err?.stack ?? err) };
  }
}

async function main() {
  await requireServices('redis', 'rabbitmq');
  const infra = findInfrastructure(REDIS_URL);
  if (!infra.redisPid || !infra.beamPid) fail('redis-server or RabbitMQ (beam.smp) not found');
  const runId = Date.now().toString(36);
  const prefix = `scaling-${runId}`;
  const has = (p) => config.parts.includes(p);
  const result = {
    meta: {
      ...machineMeta(),
      git: shortHead(),
      fdLimit: Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()),
      config: { ...config, out: undefined },
    },
  };
  /** Writes what is measured so far, so an abort later loses nothing before it. */
  const checkpoint = async () => {
    result.budget = deriveBudget(result);
    mkdirSync(dirname(config.out), { recursive: true });
    await writePretty(config.out, JSON.stringify(result, null, 2));
  };
  const machine = { key: 'one', label: 'machine broker (1 node)' };
  const machineBroker = [{ name: 'rabbit', pid: infra.beamPid }];

  if (has('delivery')) {
    log('deliveries per gateway core (npm run bench, O, W1-W3)...');
    const file =
      config.benchResults ?? (await runBench({ repeats: config.repeats, timeLimitS: 1200 }));
    result.delivery = deliveryBudget(file);
    result.delivery.source.file = relative(ROOT, file);
    if (!config.benchResults && !quick) {
      // The run this budget comes from, beside it.
      const keep = join(dirname(config.out), 'scaling-bench.json');
      copyFileSync(file, keep);
      result.delivery.source.file = relative(ROOT, keep);
    }
  }
  if (has('conns')) {
    log(`connections per gateway: ${config.sizes.join(', ')}...`);
    result.connections = await measureConnections({
      sizes: config.sizes,
      repeats: config.repeats,
      idleWindowMs: config.idleWindowMs,
      chatDeliveriesPerSec: config.chatDeliveriesPerSec,
      chatMeasureMs: config.chatMeasureMs,
      infra,
      runId,
    });
    await checkpoint();
  }
  const churnCfg = {
    prefix,
    repeats: config.repeats,
    rates: config.churnRates,
    stepMs: config.churnStepMs,
    p99LimitMs: config.p99LimitMs,
    control: config.control,
    rawMs: config.rawBindMs,
    infra,
  };
  result.churn = [];
  result.queues = null;
  result.presence = [];
  if (has('churn')) {
    log('binding churn on the machine broker...');
    result.churn.push(
      await measureChurn(
        {
          ...machine,
          amqpUrlFor: () => AMQP_URL,
          cleanupAmqpUrl: AMQP_URL,
          rawUrl: AMQP_URL,
          brokerProcs: machineBroker,
        },
        churnCfg,
      ),
    );
    await checkpoint();
  }
  /** The presence measure, `config.repeats` times; `target` names its broker and node URLs. */
  const presenceRounds = async (what, tag, target) => {
    for (let r = 0; r < config.repeats; r++) {
      result.presence.push(
        await attempt(`presence on the ${what}`, () =>
          measurePresenceRate({
            ...target,
            prefix: `${prefix}-${tag}${r}`,
            redisPid: infra.redisPid,
            sockets: config.presenceSockets,
          }),
        ),
      );
    }
  };
  if (has('presence')) {
    await presenceRounds('machine broker', 'pr', {
      label: `${machine.label}, quorum queue (1 replica)`,
      presenceUrl: AMQP_URL,
      standInUrl: AMQP_URL,
      cleanupAmqpUrl: AMQP_URL,
      brokerProcs: machineBroker,
    });
  }
  const queueTargets = [
    {
      key: 'one-classic',
      label: `classic, ${machine.label}`,
      publishUrl: AMQP_URL,
      consumeUrl: AMQP_URL,
      quorum: false,
      brokerProcs: machineBroker,
    },
  ];
  const measureAllQueues = async () => {
    log('queue throughput...');
    result.queues = await measureQueues({
      targets: queueTargets,
      repeats: config.repeats,
      durationMs: config.queueMs,
      prefix,
    });
  };
  const clusterParts = ['churn', 'queues', 'presence'].filter(has);
  if (config.cluster && clusterParts.length) {
    log('starting a 3-node RabbitMQ cluster...');
    rabbitCluster = await startRabbitCluster({ prefix: `roomcast-${prefix}` });
    try {
      const rc = rabbitCluster;
      const beams = clusterBeams(rc);
      log(`cluster up in ${rc.startMs} ms: ${rc.nodes.map((n) => n.port).join(', ')}`);
      // Every service gets the whole list, starting at a node of its own: presence and stats the
      // first, gateway i the i-th, so the gateways' bindings are changed from every node.
      const urlFor = (name) =>
        name.startsWith('gateway') ? rc.urlFrom((Number(name.slice(7)) - 1) % 3) : rc.urlFrom(0);
      const cluster = { key: 'c3', label: 'RabbitMQ cluster (3 nodes)' };
      if (has('churn')) {
        log('binding churn on the cluster...');
        result.churn.push(
          await measureChurn(
            {
              ...cluster,
              amqpUrlFor: urlFor,
              cleanupAmqpUrl: rc.nodes[0].url,
              rawUrl: rc.nodes[1].url,
              brokerProcs: beams,
            },
            churnCfg,
          ),
        );
      }
      if (has('presence')) {
        await presenceRounds('cluster', 'cp', {
          label: `${cluster.label}, quorum queue (3 replicas)`,
          presenceUrl: rc.urlFrom(0),
          standInUrl: rc.nodes[1].url,
          cleanupAmqpUrl: rc.nodes[0].url,
          brokerProcs: beams,
        });
      }
      queueTargets.push(
        {
          key: 'c3-classic',
          label: `classic, ${cluster.label}, publisher and consumer on its node`,
          publishUrl: rc.nodes[0].url,
          consumeUrl: rc.nodes[0].url,
          quorum: false,
          brokerProcs: beams,
        },
        {
          key: 'c3-quorum',
          label: `quorum, ${cluster.label}, publisher and consumer on the leader`,
          publishUrl: rc.nodes[0].url,
          consumeUrl: rc.nodes[0].url,
          quorum: true,
          brokerProcs: beams,
        },
        {
          key: 'c3-quorum-spread',
          label: `quorum, ${cluster.label}, publisher and consumer on followers`,
          publishUrl: rc.nodes[1].url,
          consumeUrl: rc.nodes[2].url,
          quorum: true,
          brokerProcs: beams,
        },
      );
      if (has('queues')) await measureAllQueues();
    } finally {
      await rabbitCluster.stop();
      rabbitCluster = undefined;
      log('cluster stopped');
    }
  } else if (has('queues')) await measureAllQueues();
  if (has('appends')) {
    log('appends per Redis master...');
    result.appends = [];
    for (let r = 0; r < config.repeats; r++) {
      result.appends.push(...(await measureAppends({ durationMs: config.appendsMs })));
    }
  }
  result.meta.finishedAt = new Date().toISOString();
  result.meta.loadavgEnd = loadavg();
  await checkpoint();
  log(`wrote ${config.out}`);
  log(`budget: ${JSON.stringify(result.budget.figures)}`);
}

// Every process the run started leads its own group; the cluster's nodes are killed too.
const cleanUp = async () => {
  killAll();
  await rabbitCluster?.stop().catch(() => undefined);
};
runMain(main, cleanUp, config.timeLimitS);
