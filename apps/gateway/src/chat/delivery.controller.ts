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
    const room =
      envelope.t === 'message'
        ? envelope.message.room
        : envelope.t === 'presence'
          ? envelope.presence.room
          : envelope.typing.room;
    if (!this.registry.has(room)) {
      this.metrics.unusedDeliveries.inc();
      return;
    }
    if (envelope.t === 'message') this.sequencer.accept(envelope.message, envelope.prev);
    else if (envelope.t === 'presence') this.delivery.emitPresence(envelope.presence);
    else this.delivery.emitTyping(envelope.typing);
  }
}
