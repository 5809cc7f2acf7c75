import { Injectable, Logger } from '@nestjs/common';
import type { HeartbeatEvent, InstanceCounts, SyncEvent, User } from '@roomcast/contracts';
import { PresenceStore, type RoomDeparture } from '@roomcast/presence-store';
import { PresenceOutbox } from './outbox';

/** Applies gateway events to the store and tells rooms when a user arrives or leaves for good. */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);

  constructor(
    private readonly store: PresenceStore,
    private readonly outbox: PresenceOutbox,
  ) {}

  connect(instanceId: string, socketId: string, user: User) {
    return this.store.connect(instanceId, socketId, user);
  }

  /**
   * With `as`, the connection is recorded first if presence lost it (swept while the gateway's
   * link was down, Redis restarted empty): a join presence confirms is always applied.
   */
  async join(
    socketId: string,
    room: string,
    as?: { instanceId: string; user: User },
  ): Promise<void> {
    if (as) await this.store.connect(as.instanceId, socketId, as.user);
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

  /** Liveness: the instance's record and last-seen time, which the sweeper reads. */
  async heartbeat(e: HeartbeatEvent): Promise<void> {
    await this.store.heartbeat(e.instanceId, e.startedAt);
  }

  /** What presence holds for an instance, which the gateway compares with its own account. */
  counts(instanceId: string): Promise<InstanceCounts> {
    return this.store.instanceCounts(instanceId);
  }

  /**
   * Makes Redis match an instance's own account of its sockets: drops connections it no longer
   * has, adds the ones presence missed, and fixes each socket's rooms. Notices go out only for
   * real changes, since every step is idempotent.
   */
  async sync(e: SyncEvent): Promise<void> {
    const live = new Map(e.sockets.map((s) => [s.socketId, s]));
    for (const socketId of await this.store.instanceConnections(e.instanceId)) {
      if (!live.has(socketId)) await this.disconnect(socketId);
    }
    for (const s of e.sockets) {
      await this.store.connect(e.instanceId, s.socketId, s.user);
      const held = new Set(await this.store.connectionRooms(s.socketId));
      for (const room of held) if (!s.rooms.includes(room)) await this.leave(s.socketId, room);
      for (const room of s.rooms) if (!held.has(room)) await this.join(s.socketId, room);
    }
    await this.store.heartbeat(e.instanceId, e.startedAt);
    await this.store.recountInstanceRooms(e.instanceId);
    this.logger.log(`synced instance ${e.instanceId}: ${e.sockets.length} socket(s)`);
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
    return this.outbox.announce({ room, event, user });
  }
}
