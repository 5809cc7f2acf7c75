// The one definition of every percentile and median the benchmarks compute and publish: the
// load generator's latencies, the presence, semantics and scaling benches, the medians over rounds.

const finite = (x) => x !== null && x !== undefined && Number.isFinite(x);

/** The finite numbers of `values` (nulls, undefined and NaN left out), ascending. */
function sortedFinite(values) {
  return Float64Array.from([...values].filter(finite)).sort();
}

/**
 * The percentile `q` (0.5 the median, 0.99 the p99) of an ascending array, by linear
 * interpolation between the two nearest ranks (numpy's default, R's type 7, Excel's
 * PERCENTILE.INC): rank (n - 1) * q; so the median of an even count is the mean of the two middle
 * values, and of two rounds their mean, not one of them. null when empty.
 */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The median of `values` (the 50th percentile, as every p50); null when none. */
export function median(values) {
  return percentile(sortedFinite(values), 0.5);
}

/** Median, min and max of repeated figures (rounds), with how many there were and which. */
export function spread(values) {
  const v = [...values].filter(finite);
  const s = sortedFinite(v);
  if (s.length === 0) return { median: null, min: null, max: null, n: 0, values: v };
  return { median: percentile(s, 0.5), min: s[0], max: s[s.length - 1], n: s.length, values: v };
}

/** Count, p50, p99, p99.9 and max of samples (latencies). */
export function summary(values) {
  const s = sortedFinite(values);
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p99: percentile(s, 0.99),
    p999: percentile(s, 0.999),
    max: s.length ? s[s.length - 1] : null,
  };
}

/** The median of a spread, or null when there is none (a part not run). */
export const medianOf = (s) => s?.median ?? null;

/** `x` to `d` decimals as a number (for the stored figures); null stays null. */
export const round = (x, d = 2) =>
  x === null || x === undefined ? null : Number(Number(x).toFixed(d));

/** summary() with every figure rounded to `d` decimals (latencies in ms, as stored). */
export function roundedSummary(values, d = 2) {
  const s = summary(values);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'n' ? v : round(v, d)]));
}
