import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { PresenceEvent, type GoodbyeEvent, type HeartbeatEvent } from '@roomcast/contracts';
import { PresenceEvents } from '../broker/ports';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
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

  private async beat(): Promise<void> {
    const event: HeartbeatEvent = {
      instanceId: this.config.INSTANCE_ID,
      startedAt: this.link.startedAt,
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
