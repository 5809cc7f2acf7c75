import { clusterOf, type RoomEnvelope } from '@roomcast/contracts';
import type { RoomPublisher } from './room-writer';

/**
 * Room traffic over several broker clusters (AMQP_URL with `;`): each room's entries go to the
 * publisher of the room's cluster (clusterOf), typically one RoomFanout per cluster, so a batch
 * only ever carries rooms of one cluster and a cluster that is down fails only its own rooms'
 * publishes. With one publisher it is that publisher.
 */
export class ShardedRoomPublisher implements RoomPublisher {
  constructor(private readonly shards: readonly RoomPublisher[]) {
    if (shards.length === 0) throw new RangeError('ShardedRoomPublisher needs a publisher');
  }

  /** The cluster index carrying `room`. */
  clusterOf(room: string): number {
    return clusterOf(room, this.shards.length);
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return this.shards[this.clusterOf(room)].publish(room, envelope);
  }
}

/** The index of the first of `links` (in `order`, default 0..n-1) that is connected, or `order[0]`. */
export function firstConnected(
  links: readonly { readonly isConnected: boolean }[],
  order: readonly number[] = links.map((_, i) => i),
): number {
  return order.find((i) => links[i].isConnected) ?? order[0];
}
