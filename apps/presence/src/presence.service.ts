import { Inject, Injectable, Logger } from '@nestjs/common';
import { AmqpTopicClient } from '@roomcast/amqp-transport';
import { roomRoutingKey, type RoomEnvelope, type User } from '@roomcast/contracts';
import { PresenceStore, type RoomDeparture } from '@roomcast/presence-store';

/** Applies gateway events to the store and tells rooms when a user arrives or leaves for good. */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);

  constructor(
    private readonly store: PresenceStore,
    @Inject(AmqpTopicClient) private readonly broker: AmqpTopicClient,
  ) {}

  connect(instanceId: string, socketId: string, user: User) {
    return this.store.connect(instanceId, socketId, user);
  }

  async join(socketId: string, room: string): Promise<void> {
    const user = await this.store.join(socketId, room);
    if (user) await this.announce(room, 'join', user);
  }

  async leave(socketId: string, room: string): Promise<void> {
    const user = await this.store.leave(socketId, room);
    if (user) await this.announce(room, 'leave', user);
  }

  async disconnect(socketId: string): Promise<void> {
    await this.announceDepartures(await this.store.disconnect(socketId));
  }

  heartbeat(instanceId: string, startedAt: number, rooms: number) {
    return this.store.heartbeat(instanceId, startedAt, rooms);
  }

  async removeInstance(instanceId: string, reason: string): Promise<void> {
    const departures = await this.store.removeInstance(instanceId);
    this.logger.log(
      `removed instance ${instanceId} (${reason}): ${departures.length} room departure(s)`,
    );
    await this.announceDepartures(departures);
  }

  private async announceDepartures(departures: RoomDeparture[]): Promise<void> {
    await Promise.all(departures.map((d) => this.announce(d.room, 'leave', d.user)));
  }

  private announce(room: string, event: 'join' | 'leave', user: User): Promise<void> {
    const envelope: RoomEnvelope = { t: 'presence', presence: { room, event, user } };
    return this.broker.publishEvent(roomRoutingKey(room), envelope);
  }
}
