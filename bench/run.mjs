#!/usr/bin/env node
// roomcast benchmark: `npm run bench` (full run, writes docs/benchmarks/) or
// `npm run bench -- --smoke` (seconds, tiny workloads, for CI). See docs/benchmarks/README.md.
//   lib/cli.mjs          options, usage, the run's configuration
//   lib/orchestrate.mjs  rounds of systems × workloads, the verdict; lib/profile.mjs for --profile
//   lib/systems.mjs      the systems under test; lib/workloads.mjs their rooms and members
//   lib/measure.mjs      CPU, counters and memory around the load generator's phases
//   lib/loadgen-client.mjs  the load generator (loadgen.mjs) over IPC
//   lib/harness.mjs      libs/testing: processes, ports, waiting, metrics, clean-up
import { parseCli } from './lib/cli.mjs';
import { killAll } from './lib/harness.mjs';
import { runBenchmark } from './lib/orchestrate.mjs';

const run = parseCli(process.argv.slice(2));

/** Every process the run started leads its own group: end them all, whatever happened. */
const exit = (code) => {
  killAll();
  process.exit(code);
};
process.on('SIGINT', () => exit(130));
process.on('SIGTERM', () => exit(143));
setTimeout(() => {
  process.stderr.write(`[bench] time limit of ${run.config.timeLimitS} s reached: aborting\n`);
  exit(3);
}, run.config.timeLimitS * 1000).unref();

runBenchmark(run).then(exit, (err) => {
  process.stderr.write(`[bench] ${err?.stack ?? err}\n`);
  exit(2);
});
