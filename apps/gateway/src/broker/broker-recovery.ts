import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AmqpStatus, AmqpTopicClient, AmqpTopicServer } from '@roomcast/amqp-transport';
import { PresenceLink } from '../chat/presence-link';
import { RoomRegistry } from '../chat/room-registry';
import { RoomSequencer } from '../chat/room-sequencer';

/**
 * When the broker link comes back (the transport has already re-declared the queue and re-bound
 * the rooms): deliver from history what was accepted meanwhile, and re-announce local state to
 * presence, whose events were lost while the link was down. Likewise when the publisher replaced
 * a channel the broker kept nacking (a quorum queue's leader died under it): the changes nacked
 * before are re-announced at once, not at the next check.
 */
@Injectable()
export class BrokerRecovery implements OnModuleInit {
  private readonly logger = new Logger(BrokerRecovery.name);
  private wasDown = false;

  constructor(
    private readonly server: AmqpTopicServer,
    private readonly broker: AmqpTopicClient,
    private readonly sequencer: RoomSequencer,
    private readonly registry: RoomRegistry,
    private readonly link: PresenceLink,
  ) {}

  onModuleInit(): void {
    this.server.status.subscribe((status) => {
      if (status === AmqpStatus.Disconnected) this.wasDown = true;
      else if (status === AmqpStatus.Connected && this.wasDown) {
        this.wasDown = false;
        void this.recover();
      }
    });
    this.broker.onReopen(() => void this.link.sync('publishing channel replaced after nacks'));
  }

  private async recover(): Promise<void> {
    this.logger.log('broker link restored: catching up rooms and re-announcing presence');
    // The publisher has a connection of its own, which may come back a moment later.
    for (let i = 0; i < 100 && !this.broker.isConnected; i++)
      await new Promise((r) => setTimeout(r, 100));
    await this.link.sync('broker link restored');
    for (const room of this.registry.rooms()) {
      await this.sequencer.catchUp(room).catch((err: Error) => {
        this.logger.warn(`catch-up of room ${room} failed: ${err.message}`);
      });
    }
  }
}
