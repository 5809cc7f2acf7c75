import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import {
  PresenceEvent,
  type GoodbyeEvent,
  type HeartbeatEvent,
  type InstanceMetrics,
} from '@roomcast/contracts';
import type { Counter } from 'prom-client';
import { NoPresenceReplica, PresenceEvents } from '../broker/ports';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { PresenceLink } from './presence-link';

/** The first and the longest wait before a heartbeat the broker returned is tried again. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 1000;

/**
 * Tells presence this instance is alive (silence past the TTL makes presence drop its users) and
 * checks that presence holds what it should for this instance. On a clean shutdown it says
 * goodbye, so its users go at once. A heartbeat no presence queue took (presence not up yet, the
 * broker returned it) is tried again soon, 250 ms doubling up to 1 s, so the instance
 * shows in /stats, and its state is checked, moments after presence binds its queue.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private timer?: NodeJS.Timeout;
  private checking = false;
  private retry?: NodeJS.Timeout;
  private retryMs = 0;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly presence: PresenceEvents,
    private readonly link: PresenceLink,
    private readonly metrics: GatewayMetrics,
  ) {}

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.config.HEARTBEAT_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retry);
    const bye: GoodbyeEvent = { instanceId: this.config.INSTANCE_ID };
    await this.presence.publish(PresenceEvent.Goodbye, bye).catch((err: Error) => {
      this.logger.warn(`goodbye not published: ${err.message}`);
    });
  }

  /** The delivery counters of /metrics, for the operations page's rates. */
  private async counters(): Promise<InstanceMetrics> {
    const read = async (c: Counter) => (await c.get()).values[0]?.value ?? 0;
    const m = this.metrics;
    const [accepted, deliveries, unused] = await Promise.all(
      [m.accepted, m.deliveries, m.unusedDeliveries].map(read),
    );
    return { accepted, deliveries, unused, at: Date.now() };
  }

  private async beat(): Promise<void> {
    const event: HeartbeatEvent = {
      instanceId: this.config.INSTANCE_ID,
      startedAt: this.link.startedAt,
      metrics: await this.counters(),
    };
    const routed = await this.presence.publish(PresenceEvent.Heartbeat, event).then(
      () => true,
      (err: Error) => {
        if (!(err instanceof NoPresenceReplica)) {
          this.logger.warn(`heartbeat not published: ${err.message}`);
          return true;
        }
        if (!this.retryMs) this.logger.warn(`heartbeat not taken: ${err.message}; retrying soon`);
        return false;
      },
    );
    if (routed) this.retryMs = 0;
    else this.retrySoon();
    if (this.checking) return;
    this.checking = true;
    await this.link.check();
    this.checking = false;
  }

  private retrySoon(): void {
    if (this.retry) return;
    this.retryMs = Math.min(
      this.retryMs ? this.retryMs * 2 : FIRST_RETRY_MS,
      Math.min(MAX_RETRY_MS, this.config.HEARTBEAT_MS),
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.beat();
    }, this.retryMs);
    this.retry.unref();
  }
}
