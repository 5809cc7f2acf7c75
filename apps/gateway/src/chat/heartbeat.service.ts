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
import { stateOf } from './chat-socket';
import { LocalDelivery } from './local-delivery';
import { PresenceAnnouncer } from './presence-announcer';
import { RoomRegistry } from './room-registry';

/**
 * Tells presence this instance is alive; silence past the TTL makes presence drop its users.
 * On a clean shutdown it says goodbye, so its users go at once instead of after the TTL.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly presence: PresenceEvents,
    private readonly registry: RoomRegistry,
    private readonly delivery: LocalDelivery,
    private readonly announcer: PresenceAnnouncer,
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
    let connections = 0;
    let memberships = 0;
    for (const socket of this.delivery.localSockets()) {
      const state = stateOf(socket);
      if (!state?.rooms) continue;
      connections++;
      memberships += state.rooms.size;
    }
    const event: HeartbeatEvent = {
      instanceId: this.config.INSTANCE_ID,
      startedAt: this.announcer.startedAt,
      connections,
      rooms: this.registry.roomCount,
      memberships,
    };
    await this.presence.publish(PresenceEvent.Heartbeat, event).catch((err: Error) => {
      this.logger.warn(`heartbeat not published: ${err.message}`);
    });
  }
}
