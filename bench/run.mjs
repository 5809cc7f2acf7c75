#!/usr/bin/env node
// roomcast benchmark: `npm run bench` (full run, writes docs/benchmarks/) or
// `npm run bench -- --smoke` (seconds, tiny workloads, for CI). See docs/benchmarks/README.md;
// `node bench/report.mjs` writes the published tables again from the raw figures, measuring nothing.
//   lib/cli.mjs          options, usage, the run's configuration
//   lib/orchestrate.mjs  rounds of systems × workloads, the verdict; lib/profile.mjs for --profile
//   lib/systems.mjs      the systems under test; lib/workloads.mjs their rooms and members
//   lib/measure.mjs      CPU, counters and memory around the load generator's phases
//   lib/loadgen-client.mjs  the load generator (loadgen.mjs) over IPC
//   lib/report/          aggregate (medians over rounds), verdicts (targets), markdown, chart,
//                        write (the files); every percentile and median from lib/stats.mjs
//   lib/harness.mjs      libs/testing: processes, ports, waiting, metrics, clean-up
import { parseCli } from './lib/cli.mjs';
import { killAll } from './lib/harness.mjs';
import { runMain } from './lib/log.mjs';
import { runBenchmark } from './lib/orchestrate.mjs';

const run = parseCli(process.argv.slice(2));
// Every process the run started leads its own group: killAll ends them all, whatever happened.
runMain(() => runBenchmark(run), killAll, run.config.timeLimitS);
