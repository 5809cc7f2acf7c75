/** One metric's value in a Prometheus text page, summed over its label sets (0 when absent). */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Several metrics' values from one read of a /metrics page. */
export async function readMetrics<N extends string>(
  baseUrl: string,
  names: readonly N[],
): Promise<Record<N, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Object.fromEntries(names.map((n) => [n, metricValue(text, n)])) as Record<N, number>;
}

/** Reads one metric's value (summed over label sets) from a /metrics page. */
export async function readMetric(baseUrl: string, name: string): Promise<number> {
  return (await readMetrics(baseUrl, [name]))[name];
}
