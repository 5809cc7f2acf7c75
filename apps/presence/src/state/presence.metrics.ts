import { Injectable } from '@nestjs/common';
import { PresenceQueries } from '@roomcast/store';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The longest a scrape waits for the online count (Redis away: ioredis queues the command). */
const USERS_READ_TIMEOUT_MS = 1000;

/** What one presence replica applies, and the cluster's online users it keeps. */
@Injectable()
export class PresenceMetrics {
  /** Gateway requests and events applied, by routing key (`presence.join`...). */
  readonly applied: Counter<'event'>;
  /**
   * From a gateway's heartbeat leaving it (the `at` of its counters) to this replica applying
   * it. Heartbeats share the presence queue with the joins, leaves and connects, so this is how
   * long gateway events wait behind each other plus the apply; the one event that carries the
   * time it was sent. Hosts' clocks add their skew.
   */
  readonly lag: Histogram;

  constructor(registry: Registry, queries: PresenceQueries) {
    const registers = [registry];
    this.applied = new Counter({
      name: 'roomcast_presence_applied_total',
      help: 'Gateway requests and events this presence replica applied, by event',
      labelNames: ['event'],
      registers,
    });
    this.lag = new Histogram({
      name: 'roomcast_presence_lag_seconds',
      help: "From a gateway heartbeat's send to this replica applying it (presence queue wait and apply)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'roomcast_users_online',
      help: 'Users with at least one connection on any gateway (the Stats API online figure), read at the scrape',
      registers,
      async collect() {
        // No value when Redis does not answer in time: a stale figure would look like a live one.
        this.reset();
        const online = await within(USERS_READ_TIMEOUT_MS, () =>
          queries.clusterStats().then((s) => s.online),
        );
        if (online !== undefined) this.set(online);
      },
    });
  }
}

/** `read`'s answer, or undefined when it fails or takes longer than `ms`. */
async function within<T>(ms: number, read: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([read().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
