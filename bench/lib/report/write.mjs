// Writes a run's report: results.json (the trials and what they aggregate to), results.md,
// chart.svg and the README's results section; and writes it again from a results.json alone
// (`npm run bench -- --report-only`), so the published tables always come from the raw trials.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { gitState } from '../meta.mjs';
import { SYSTEMS } from '../constants.mjs';
import { aggregate } from './aggregate.mjs';
import { chart } from './chart.mjs';
import { markdown } from './markdown.mjs';
import { targets } from './verdicts.mjs';

/** Writes `text` to `file` formatted as prettier formats the repository's files of its kind. */
export async function writePretty(file, text) {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

/** Writes results.json, results.md and chart.svg to `out` (and the README's results section). */
export async function writeReport({ meta, trials, appends = [], defs, out, smoke }) {
  meta.git ??= gitState();
  if (meta.config.beforeCommit) SYSTEMS.P.label = beforeLabel(meta.config.beforeCommit);
  const agg = aggregate(trials);
  const tgts = targets(agg, meta.config);
  const md = markdown({ meta, agg, tgts, defs, appends });
  const files = [join(out, 'results.json'), join(out, 'results.md'), join(out, 'chart.svg')];
  await writePretty(
    files[0],
    JSON.stringify({ meta, workloads: defs, aggregate: agg, targets: tgts, appends, trials }),
  );
  await writePretty(files[1], `# Benchmark results\n\n${md}\n\n![chart](chart.svg)\n`);
  writeFileSync(files[2], chart({ agg, meta, defs }));
  const readme = join(out, 'README.md');
  if (!smoke && existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- results:begin -->';
    const a = text.indexOf(begin);
    const b = text.indexOf('<!-- results:end -->');
    if (a >= 0 && b > a) {
      await writePretty(readme, `${text.slice(0, a + begin.length)}\n\n${md}\n\n${text.slice(b)}`);
      files.push(readme);
    }
  }
  return files;
}

/** System P's label: the --before build's commit. */
export const beforeLabel = (commit) =>
  `P: roomcast before, ${commit} (3 gateways + presence + stats)`;

/** The report of `out`/results.json written again from its trials (nothing is measured). */
export async function rewriteReport(out) {
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  return writeReport({ ...r, defs: r.workloads, out, smoke: r.meta.config.smoke });
}
