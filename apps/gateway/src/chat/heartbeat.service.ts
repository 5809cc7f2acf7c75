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
import { PresenceEvents } from '../broker/ports';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { PresenceLink } from './presence-link';

/**
 * Tells presence this instance is alive (silence past the TTL makes presence drop its users) and
 * checks that presence holds what it should for this instance. On a clean shutdown it says
 * goodbye, so its users go at once.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private timer?: NodeJS.Timeout;
  private checking = false;

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
    await this.presence.publish(PresenceEvent.Heartbeat, event).catch((err: Error) => {
      this.logger.warn(`heartbeat not published: ${err.message}`);
    });
    if (this.checking) return;
    this.checking = true;
    await this.link.check();
    this.checking = false;
  }
}
