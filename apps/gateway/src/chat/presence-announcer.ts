import { Inject, Injectable, Logger } from '@nestjs/common';
import { PresenceEvent, type SyncEvent } from '@roomcast/contracts';
import { PresenceEvents } from '../broker/ports';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { stateOf } from './chat-socket';
import { LocalDelivery } from './local-delivery';

/**
 * Sends presence this instance's whole local state (every socket, its user and rooms), which
 * presence reconciles against Redis: after a broker outage (events were lost) or when presence
 * no longer knows the instance (swept during an outage, or Redis restarted empty).
 */
@Injectable()
export class PresenceAnnouncer {
  private readonly logger = new Logger(PresenceAnnouncer.name);
  readonly startedAt = Date.now();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly presence: PresenceEvents,
    private readonly delivery: LocalDelivery,
  ) {}

  async announceAll(reason: string): Promise<void> {
    const sockets: SyncEvent['sockets'] = [];
    for (const socket of this.delivery.localSockets()) {
      const state = stateOf(socket);
      if (state?.user)
        sockets.push({ socketId: socket.id, user: state.user, rooms: [...state.rooms] });
    }
    const event: SyncEvent = {
      instanceId: this.config.INSTANCE_ID,
      startedAt: this.startedAt,
      sockets,
    };
    try {
      await this.presence.publish(PresenceEvent.Sync, event);
      this.logger.log(`announced ${sockets.length} socket(s) to presence (${reason})`);
    } catch (err) {
      this.logger.warn(`presence sync not published (${reason}): ${(err as Error).message}`);
    }
  }
}
