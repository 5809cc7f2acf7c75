import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ALL_ROOMS_PATTERN, type RoomEnvelope } from '@roomcast/contracts';
import { LocalDelivery } from './local-delivery';
import { RoomRegistry } from './room-registry';

/** Room traffic from this instance's queue (bound per room with local members). */
@Controller()
export class DeliveryController {
  constructor(
    private readonly delivery: LocalDelivery,
    private readonly registry: RoomRegistry,
  ) {}

  @EventPattern(ALL_ROOMS_PATTERN)
  onRoomEvent(@Payload() envelope: RoomEnvelope): void {
    const room =
      envelope.t === 'message'
        ? envelope.message.room
        : envelope.t === 'presence'
          ? envelope.presence.room
          : envelope.typing.room;
    this.delivery.deliver(envelope, this.registry.has(room));
  }
}
