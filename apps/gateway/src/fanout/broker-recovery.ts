import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { BrokerLink } from '../broker/ports';
import { PresenceLink } from '../presence/presence-link';
import { RoomRegistry } from '../membership/room-registry';
import { RoomSequencer } from './room-sequencer';

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

  constructor(
    private readonly broker: BrokerLink,
    private readonly sequencer: RoomSequencer,
    private readonly registry: RoomRegistry,
    private readonly link: PresenceLink,
  ) {}

  onModuleInit(): void {
    this.broker.onRestored(() => void this.recover());
    this.broker.onPublisherReplaced(
      () => void this.link.sync('publishing channel replaced after nacks'),
    );
  }

  private async recover(): Promise<void> {
    this.logger.log('broker link restored: catching up rooms and re-announcing presence');
    // The publisher has a connection of its own, which may come back a moment later.
    for (let i = 0; i < 100 && !this.broker.publisherConnected; i++)
      await new Promise((r) => setTimeout(r, 100));
    await this.link.sync('broker link restored');
    for (const room of this.registry.rooms()) {
      await this.sequencer.catchUp(room).catch((err: Error) => {
        this.logger.warn(`catch-up of room ${room} failed: ${err.message}`);
      });
    }
  }
}
