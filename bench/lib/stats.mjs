// The one definition of every percentile and median the benchmarks compute and publish: the
// load generator's latencies, the presence and semantics benches, and the medians over rounds.

/** The finite numbers of `values` (nulls, undefined and NaN left out), ascending. */
function sortedFinite(values) {
  return Float64Array.from(
    [...values].filter((x) => x !== null && x !== undefined && Number.isFinite(x)),
  ).sort();
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at least a fraction
 * `q` of the values at or below it (q = 0.5 is the median, 0.99 the p99); null when empty.
 */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** The median of `values` (the nearest-rank 50th percentile, as every p50); null when none. */
export function median(values) {
  return percentile(sortedFinite(values), 0.5);
}

/** Median, min and max of repeated figures (rounds), with how many there were. */
export function spread(values) {
  const s = sortedFinite(values);
  if (s.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: percentile(s, 0.5), min: s[0], max: s[s.length - 1], n: s.length };
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
