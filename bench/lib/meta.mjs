// What a run measured on, for its report: the commit (and --before's), and the machine.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { ROOT } from './constants.mjs';

const git = (args, cwd) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();

/** The short commit of the checkout at `dir`, or 'unknown'. */
export function shortHead(dir = ROOT) {
  try {
    return git(['rev-parse', '--short', 'HEAD'], dir);
  } catch {
    return 'unknown';
  }
}

/** This checkout's short commit, and whether apps/ or libs/ had uncommitted changes. */
export function gitState() {
  try {
    const dirty = git(['status', '--porcelain', '--', 'apps', 'libs'], ROOT);
    return `${shortHead()}${dirty ? ' + uncommitted changes in apps/ or libs/' : ''}`;
  } catch {
    return shortHead();
  }
}

/** The machine and Node a run starts on, with the load average then. */
export const machine = () => ({
  startedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
  loadavgStart: loadavg(),
});
