import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ALL_ROOMS_PATTERN, type RoomEnvelope } from '@roomcast/contracts';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { LocalDelivery } from './local-delivery';
import { RoomRegistry } from './room-registry';
import { RoomSequencer } from './room-sequencer';

/** Traffic from this instance's queue: rooms bound while they have local members, and its own key. */
@Controller()
export class DeliveryController {
  constructor(
    private readonly delivery: LocalDelivery,
    private readonly registry: RoomRegistry,
    private readonly sequencer: RoomSequencer,
    private readonly metrics: GatewayMetrics,
  ) {}

  @EventPattern(ALL_ROOMS_PATTERN)
  onRoomEvent(@Payload() envelope: RoomEnvelope): void {
    this.metrics.deliveries.inc();
    if (!this.registry.has(roomOf(envelope))) {
      this.metrics.unusedDeliveries.inc();
      return;
    }
    this.apply(envelope);
  }

  /** A batch is unpacked in its order; the sequencer emits its messages in seq order. */
  private apply(envelope: RoomEnvelope): void {
    switch (envelope.t) {
      case 'message':
        this.sequencer.accept(envelope.message, envelope.prev);
        // The sender's cursor moved to its message: its other connections here hear of it.
        if (envelope.origin !== undefined) {
          const { room, seq, user } = envelope.message;
          this.delivery.emitRead(user.id, { room, readSeq: seq, unread: 0 }, envelope.origin);
        }
        return;
      case 'update':
        return this.sequencer.accept(envelope.update, envelope.prev);
      case 'read':
        return this.delivery.emitRead(envelope.user, envelope.read, envelope.origin);
      case 'presence':
        return this.delivery.emitPresence(envelope.presence);
      case 'typing':
        return this.delivery.emitTyping(envelope.typing);
      case 'batch':
        for (const item of envelope.items) if (item.t !== 'batch') this.apply(item);
        return;
    }
  }
}

function roomOf(envelope: RoomEnvelope): string {
  switch (envelope.t) {
    case 'message':
      return envelope.message.room;
    case 'update':
      return envelope.update.room;
    case 'read':
      return envelope.read.room;
    case 'presence':
      return envelope.presence.room;
    case 'typing':
      return envelope.typing.room;
    case 'batch':
      return envelope.room;
  }
}
