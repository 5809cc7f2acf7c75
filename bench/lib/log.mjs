// Progress lines on stdout, stamped with the seconds since the run started, and their number
// formats; failures of the run itself (bad arguments, a service down) on stderr.
import { performance } from 'node:perf_hooks';

const started = performance.now();

/** Seconds since the benchmark started. */
export const elapsedS = () => (performance.now() - started) / 1000;

export const log = (line) =>
  process.stdout.write(`[bench ${elapsedS().toFixed(0).padStart(4)}s] ${line}\n`);

/** Ends the run at once: the benchmark cannot run as asked. */
export function fail(message) {
  process.stderr.write(`[bench] ${message}\n`);
  process.exit(2);
}

export const fmt = (v, d = 1) => (v === null || v === undefined ? '-' : Number(v).toFixed(d));
export const fmtRate = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${Math.round(v)}`);
