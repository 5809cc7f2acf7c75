// Progress lines on stdout, stamped with the seconds since the run started, the number formats of
// the progress lines and the published tables, and the end of a bench script's process.
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

/**
 * Runs `main()` and ends the process with the code it resolves to (0 for none), 2 when it throws,
 * 130 or 143 on SIGINT or SIGTERM, 3 after `timeLimitS` when given: always after `cleanUp()`.
 */
export function runMain(main, cleanUp, timeLimitS) {
  const exit = async (code) => {
    await cleanUp();
    process.exit(code);
  };
  process.on('SIGINT', () => exit(130));
  process.on('SIGTERM', () => exit(143));
  if (timeLimitS) {
    setTimeout(() => {
      process.stderr.write(`[bench] time limit of ${timeLimitS} s reached: aborting\n`);
      exit(3);
    }, timeLimitS * 1000).unref();
  }
  main().then(
    (code) => exit(code ?? 0),
    (err) => {
      process.stderr.write(`[bench] ${err?.stack ?? err}\n`);
      exit(2);
    },
  );
}

/** `v` with `d` decimals; '–' when there is no figure. */
export const fmt = (v, d = 1) =>
  v === null || v === undefined || !Number.isFinite(Number(v)) ? '–' : Number(v).toFixed(d);

/** A rate: 12.3k from 1,000 up, a whole number below; '–' when there is no figure. */
export const fmtRate = (v) =>
  v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);

/** A figure repeated over rounds (bench/lib/stats.mjs's spread): "median (min–max)". */
export const fmtSpread = (s, fn = fmt) =>
  s?.median === null || s?.median === undefined
    ? '–'
    : s.n > 1
      ? `${fn(s.median)} (${fn(s.min)}–${fn(s.max)})`
      : fn(s.median);

/** An ISO time as "YYYY-MM-DD HH:MM" (UTC), for a table's heading; now by default. */
export const utcMinute = (iso = new Date().toISOString()) => iso.slice(0, 16).replace('T', ' ');
