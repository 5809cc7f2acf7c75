#!/usr/bin/env node
// `node bench/report.mjs [DIR]` (default docs/benchmarks): measures nothing; writes the published
// figures of DIR again from the raw ones stored beside them, every percentile and median by
// bench/lib/stats.mjs: results.md, chart.svg and the README's results from results.json's trials;
// semantics.md from semantics.json's rounds; scaling.json's delivery part and budget from its raw
// measures and scaling-bench.json's trials. A file that is not there is skipped. (presence.json
// keeps only its percentiles, not the samples: `npm run bench:presence` measures them again.)
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DOCS_DIR } from './lib/constants.mjs';
import { log } from './lib/log.mjs';
import { writeSemantics } from './lib/report/semantics.mjs';
import { rewriteReport, writePretty } from './lib/report/write.mjs';
import { rebudget } from './lib/scaling/budget.mjs';

const dir = resolve(process.argv[2] ?? DOCS_DIR);
const read = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const written = [];
if (existsSync(join(dir, 'results.json'))) written.push(...(await rewriteReport(dir)));
if (existsSync(join(dir, 'semantics.json'))) {
  written.push(...(await writeSemantics(dir, read('semantics.json'))));
}
if (existsSync(join(dir, 'scaling.json'))) {
  const file = join(dir, 'scaling.json');
  await writePretty(file, JSON.stringify(rebudget(read('scaling.json')), null, 2));
  written.push(file);
}
log(`wrote ${written.join(', ')}`);
