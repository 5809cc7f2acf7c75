import { Counter, Gauge, type Registry } from 'prom-client';

/** A dependency check for GET /ready: resolves true when the dependency answers. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

/** What one round of checks found, by check name. */
export interface CheckResult {
  name: string;
  ok: boolean;
}

/**
 * The longest a scrape waits for one dependency check: a Redis command waits in ioredis's
 * offline queue while Redis is away, and a scrape that hangs would read as the process being
 * down, not the dependency.
 */
export const SCRAPE_CHECK_TIMEOUT_MS = 1000;

/**
 * The readiness checks as metrics: `roomcast_dependency_up{dependency}` (1 when the check passed
 * at this scrape, 0 when it failed or took longer than `timeoutMs`) and
 * `roomcast_dependency_check_failures_total{dependency}` (failed checks, from scrapes and from
 * GET /ready; every dependency starts at 0, so a rate exists before the first failure). So the
 * alert "Redis unreachable" says what the services see, which is what matters to users: a Redis
 * that its exporter reaches but the services cannot is still an outage.
 */
export class DependencyMetrics {
  private readonly failures: Counter<'dependency'>;
  /** The checks of the scrape under way, which both metrics wait for. */
  private scraping?: Promise<CheckResult[]>;

  constructor(
    registry: Registry,
    private readonly checks: ReadinessCheck[],
    private readonly timeoutMs = SCRAPE_CHECK_TIMEOUT_MS,
  ) {
    const registers = [registry];
    const scrape = () => this.scrape();
    // A scrape reads the metrics side by side: the counter waits for the checks too, so it
    // includes this scrape's failures.
    this.failures = new Counter({
      name: 'roomcast_dependency_check_failures_total',
      help: 'Dependency checks (Redis, RabbitMQ) that failed or timed out, at scrapes and GET /ready',
      labelNames: ['dependency'],
      registers,
      async collect() {
        await scrape();
      },
    });
    for (const c of checks) this.failures.inc({ dependency: c.name }, 0);
    new Gauge({
      name: 'roomcast_dependency_up',
      help: 'Whether the dependency answered this process at the scrape (1) or not (0)',
      labelNames: ['dependency'],
      registers,
      async collect() {
        for (const r of await scrape()) this.set({ dependency: r.name }, r.ok ? 1 : 0);
      },
    });
  }

  /** Runs every check (each bounded by `timeoutMs` when given), counting the failures. */
  async run(timeoutMs?: number): Promise<CheckResult[]> {
    const results = await Promise.all(
      this.checks.map(async (c) => ({ name: c.name, ok: await checkWithin(c, timeoutMs) })),
    );
    for (const r of results) if (!r.ok) this.failures.inc({ dependency: r.name });
    return results;
  }

  /** One round of checks per scrape, however many of its metrics ask. */
  private scrape(): Promise<CheckResult[]> {
    this.scraping ??= this.run(this.timeoutMs).finally(() => {
      this.scraping = undefined;
    });
    return this.scraping;
  }
}

/** The check's answer; false when it throws or (with `timeoutMs`) does not answer in time. */
async function checkWithin(c: ReadinessCheck, timeoutMs?: number): Promise<boolean> {
  const answer = Promise.resolve()
    .then(() => c.check())
    .then(
      (ok) => Boolean(ok),
      () => false,
    );
  if (timeoutMs === undefined) return answer;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
