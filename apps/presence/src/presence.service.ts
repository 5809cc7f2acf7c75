import { Injectable, Logger } from '@nestjs/common';
import type { HeartbeatEvent, SyncEvent, User } from '@roomcast/contracts';
import { PresenceStore, type RoomDeparture } from '@roomcast/presence-store';
import { PresenceOutbox } from './outbox';

/** Applies gateway events to the store and tells rooms when a user arrives or leaves for good. */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);
  /** Heartbeats in a row whose counts differed from what presence holds, per instance. */
  private readonly differing = new Map<string, number>();

  constructor(
    private readonly store: PresenceStore,
    private readonly outbox: PresenceOutbox,
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

  /**
   * A heartbeat whose counts differ from what presence holds for the instance (it was swept
   * during an outage, Redis came back empty, or events were lost): ask it for its full state.
   * A gateway publishes its events and heartbeats in order on one channel and presence applies
   * them in that order, so the counts agree unless something was lost, or a change was under
   * way when the heartbeat left (a join between its count and its event): so a difference seen
   * at two heartbeats in a row asks, and asks again at every one until they agree.
   */
  async heartbeat(e: HeartbeatEvent): Promise<void> {
    const unknown = await this.store.heartbeat(e.instanceId, e.startedAt, e.rooms);
    const held = await this.store.instanceCounts(e.instanceId);
    const differs =
      held.connections !== e.connections ||
      (e.memberships !== undefined && held.memberships !== e.memberships);
    const seen = differs ? (this.differing.get(e.instanceId) ?? 0) + 1 : 0;
    if (seen > 0) this.differing.set(e.instanceId, seen);
    else this.differing.delete(e.instanceId);
    if ((unknown && e.connections > 0) || seen >= 2) {
      this.logger.log(
        `instance ${e.instanceId} reports ${e.connections} connection(s) and ${e.memberships} ` +
          `membership(s), presence holds ${held.connections} and ${held.memberships}: asking for a sync`,
      );
      await this.outbox.requestSync(e.instanceId);
    }
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
    await this.store.heartbeat(
      e.instanceId,
      e.startedAt,
      new Set(e.sockets.flatMap((s) => s.rooms)).size,
    );
    await this.store.recountMemberships(e.instanceId);
    this.logger.log(`synced instance ${e.instanceId}: ${e.sockets.length} socket(s)`);
  }

  async removeInstance(instanceId: string, reason: string): Promise<void> {
    this.differing.delete(instanceId);
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
