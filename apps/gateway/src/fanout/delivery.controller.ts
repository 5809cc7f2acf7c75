import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  ALL_ROOMS_PATTERN,
  entryRoom,
  type RoomEntry,
  type RoomEnvelope,
} from '@roomcast/contracts';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { LocalDelivery } from './local-delivery';
import { RoomRegistry } from '../membership/room-registry';
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

  /**
   * One broker message: one entry, or a batch of entries of one or several rooms (a group
   * commit). Entries of rooms this instance hosts are applied in the batch's order; the others
   * (rooms that shared the message with a hosted one, or a room lingering before its unbind)
   * are counted as unused.
   */
  @EventPattern(ALL_ROOMS_PATTERN)
  onRoomEvent(@Payload() envelope: RoomEnvelope): void {
    this.metrics.deliveries.inc();
    const items = envelope.t === 'batch' ? envelope.items : [envelope];
    let unused = 0;
    for (const item of items) {
      const room = entryRoom(item);
      // A lingering room (bound, no member left) keeps its sequencer current, so a member who
      // comes back needs no gap fill; its traffic is unused work all the same.
      if (this.registry.isBound(room)) this.apply(item);
      if (!this.registry.has(room)) unused++;
    }
    this.metrics.entries.inc(items.length);
    if (unused > 0) this.metrics.unusedEntries.inc(unused);
    if (unused === items.length) this.metrics.unusedDeliveries.inc();
  }

  /** The sequencer emits a room's messages and updates in seq order. */
  private apply(entry: RoomEntry): void {
    switch (entry.t) {
      case 'message':
        this.sequencer.accept(entry.message, entry.prev);
        // The sender's cursor moved to its message: its other connections here hear of it.
        if (entry.origin !== undefined) {
          const { room, seq, user } = entry.message;
          this.delivery.emitRead(user.id, { room, readSeq: seq, unread: 0 }, entry.origin);
        }
        return;
      case 'update':
        return this.sequencer.accept(entry.update, entry.prev);
      case 'read':
        return this.delivery.emitRead(entry.user, entry.read, entry.origin);
      case 'presence':
        return this.delivery.emitPresence(entry.presence);
      case 'typing':
        return this.delivery.emitTyping(entry.typing);
    }
  }
}
