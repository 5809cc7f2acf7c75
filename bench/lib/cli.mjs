// The command line: options, usage, and the run's configuration with its defaults (a full run or
// a smoke run). The configuration is written into results.json as it is.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DOCS_DIR, P99_LIMIT_MS, SYSTEMS } from './constants.mjs';
import { shortHead } from './meta.mjs';
import { AMQP_URL, REDIS_URL } from './harness.mjs';
import { fail } from './log.mjs';
import { beforeLabel } from './report/write.mjs';
import { FULL, SMOKE } from './workloads.mjs';

const OPTIONS = {
  smoke: { type: 'boolean', default: false },
  profile: { type: 'boolean', default: false },
  systems: { type: 'string' },
  workloads: { type: 'string' },
  repeats: { type: 'string' },
  rate: { type: 'string' },
  'warmup-ms': { type: 'string' },
  'measure-ms': { type: 'string' },
  sweep: { type: 'string' },
  'step-ms': { type: 'string' },
  'sweep-start': { type: 'string' },
  'sweep-factor': { type: 'string' },
  'sweep-max': { type: 'string' },
  'p99-limit-ms': { type: 'string' },
  'idle-per-instance': { type: 'string' },
  out: { type: 'string' },
  'time-limit-s': { type: 'string' },
  'appends-ms': { type: 'string' },
  before: { type: 'string' },
  help: { type: 'boolean', default: false },
};

const USAGE = `usage: npm run bench -- [options]
  --smoke                 a few seconds, tiny workloads; exit 1 on a harness failure or any
                          lost, duplicated or out-of-order delivery (for CI)
  --profile               CPU-profile instance 1 of each system (node --cpu-prof; systems
                          default B,O) under the load workloads: where each µs per delivery goes
  --systems U,A,B,S,O,C   systems to run (default all)
  --workloads W1,...,W6   workloads (default all)
  --repeats N             rounds; systems interleaved in each (default 3)
  --rate N                fixed load, deliveries/s (default 10000)
  --warmup-ms, --measure-ms   fixed-load phases (default 1500, 5000)
  --sweep W2,W6           workloads that also search the highest rate with p99 <= limit
                          (default W2,W6; smoke W2; "none" to skip)
  --step-ms N             length of each sweep step (default 3000)
  --sweep-start N --sweep-factor F --sweep-max N   sweep rates (5000, 1.5, 150000)
  --p99-limit-ms N        sweep's latency limit (default 50)
  --idle-per-instance N   W5 connections per instance (default 5000)
  --out DIR               where to write results (default docs/benchmarks; smoke: a temp dir)
  --appends-ms N          length of the appends measure on one Redis and on a Redis Cluster of
                          3 masters (default 5000; smoke 800; 0 to skip it)
  --time-limit-s N        abort the whole run after N s (default 3600; smoke 240)
  --before DIR            also run system P: the build (DIR/dist) of another checkout of roomcast
                          (an earlier commit), like O, for before/after figures from one run
`;

/**
 * Parses `argv` (without node and the script): { config, defs: the workloads' definitions,
 * profile }. Prints the usage and exits on --help; exits 2 on an unknown system or workload.
 */
export function parseCli(argv) {
  const { values: args } = parseArgs({ args: argv, options: OPTIONS });
  if (args.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const smoke = args.smoke;
  const num = (v, d) => (v === undefined ? d : Number(v));
  const list = (v, d) => (v === undefined ? d : v.split(',').filter(Boolean));
  const config = {
    smoke,
    // Every system, P only with --before (it is that build).
    systems: list(
      args.systems,
      Object.keys(SYSTEMS).filter((s) => s !== 'P' || args.before !== undefined),
    ),
    workloads: list(args.workloads, Object.keys(FULL)),
    repeats: num(args.repeats, smoke ? 1 : 3),
    rate: num(args.rate, smoke ? 1000 : 10000),
    // Smoke phases are short enough for 6 systems × 5 load workloads in about two minutes.
    warmupMs: num(args['warmup-ms'], smoke ? 300 : 1500),
    measureMs: num(args['measure-ms'], smoke ? 800 : 5000),
    // The smoke run sweeps W2 only: W6's sweep is the same code on another layout, 6 s more.
    sweep: list(args.sweep, smoke ? ['W2'] : ['W2', 'W6']).filter((w) => w !== 'none'),
    stepMs: num(args['step-ms'], smoke ? 400 : 3000),
    sweepStart: num(args['sweep-start'], smoke ? 1000 : 5000),
    sweepFactor: num(args['sweep-factor'], 1.5),
    sweepMax: num(args['sweep-max'], smoke ? 1500 : 150000),
    p99LimitMs: num(args['p99-limit-ms'], P99_LIMIT_MS),
    idlePerInstance: args['idle-per-instance'] ? Number(args['idle-per-instance']) : undefined,
    appendsMs: num(args['appends-ms'], smoke ? 800 : 5000),
    // A full run takes about 40 min (6 systems, 3 rounds, sweeps of W2 and W6); a smoke run about
    // 2 min on a quiet machine, 165 s on one busy with other tests (load average 6 on 2 cores).
    timeLimitS: num(args['time-limit-s'], smoke ? 240 : 3600),
    out: resolve(
      args.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'roomcast-bench-smoke-')) : DOCS_DIR),
    ),
    redisUrl: REDIS_URL,
    amqpUrl: AMQP_URL,
    before: args.before === undefined ? undefined : resolve(args.before),
  };
  if (config.before !== undefined) {
    if (!existsSync(join(config.before, 'dist/apps/gateway/src/main.js')))
      fail(`--before ${config.before}: no build there (run npm ci and npm run build in it)`);
    config.beforeCommit = shortHead(config.before);
    SYSTEMS.P.label = beforeLabel(config.beforeCommit);
  }
  if (config.systems.includes('P') && config.before === undefined)
    fail('system P is the --before build: give --before DIR');
  for (const s of config.systems) if (!SYSTEMS[s]) fail(`unknown system ${s}`);
  const defs = smoke ? SMOKE : FULL;
  for (const w of config.workloads) if (!defs[w]) fail(`unknown workload ${w}`);
  // A profile compares the closest peer with roomcast unless told which systems to profile.
  if (args.profile && args.systems === undefined) config.systems = ['B', 'O'];
  return { config, defs, profile: args.profile };
}
