import { Injectable, Logger, Optional } from '@nestjs/common';
import { RoomPolicies } from '@roomcast/config';
import type {
  HeartbeatEvent,
  InstanceCounts,
  InstanceMetrics,
  SyncEvent,
  User,
} from '@roomcast/contracts';
import { PresenceStore, type RoomDeparture } from '@roomcast/store';
import { memberWebhooks } from '@roomcast/delivery';
import { PresenceOutbox } from '../broker/outbox';

const COUNTERS = ['accepted', 'deliveries', 'unused', 'at'] as const;

/**
 * A heartbeat's counters as presence keeps them: four non-negative finite numbers, or nothing
 * (an older gateway sends none; whatever else came over the wire is not stored).
 */
export function instanceMetrics(raw: unknown): InstanceMetrics | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const ok = COUNTERS.every((k) => typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] >= 0);
  if (!ok) return undefined;
  return Object.fromEntries(COUNTERS.map((k) => [k, r[k]])) as unknown as InstanceMetrics;
}

/** Applies gateway events to the store and tells rooms when a user arrives or leaves for good. */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);

  constructor(
    private readonly store: PresenceStore,
    private readonly outbox: PresenceOutbox,
    /** A room whose rule says `presence: false` gets no join and leave notices. */
    @Optional() private readonly policies: RoomPolicies = RoomPolicies.none(),
  ) {}

  connect(instanceId: string, socketId: string, user: User) {
    return this.store.connect(instanceId, socketId, user);
  }

  /**
   * A join carries its user, so the connection is recorded first if presence lost it (swept
   * while the gateway's link was down, Redis restarted empty): a join presence confirms is
   * always applied.
   */
  async join(instanceId: string, socketId: string, user: User, room: string): Promise<void> {
    const joined = await this.store.joinRoom(instanceId, socketId, user, room);
    if (joined)
      await Promise.all([this.announce(room, 'join', joined.user), this.webhooks([joined], [])]);
  }

  async leave(instanceId: string, socketId: string, room: string): Promise<void> {
    const left = await this.store.leaveRoom(instanceId, socketId, room);
    if (left)
      await Promise.all([this.announce(room, 'leave', left.user), this.webhooks([], [left])]);
  }

  async disconnect(instanceId: string, socketId: string): Promise<void> {
    const left = await this.store.disconnect(instanceId, socketId);
    await Promise.all([this.announceDepartures(left), this.webhooks([], left)]);
  }

  /** Liveness: the instance's record and last-seen time, which the sweeper reads. */
  async heartbeat(e: HeartbeatEvent): Promise<void> {
    await this.store.heartbeat(e.instanceId, e.startedAt, Date.now(), instanceMetrics(e.metrics));
  }

  /** What presence holds for an instance, which the gateway compares with its own account. */
  counts(instanceId: string): Promise<InstanceCounts> {
    return this.store.instanceCounts(instanceId);
  }

  /**
   * Makes Redis match an instance's own account of its sockets: the instance's share of every
   * room and user count is replaced by what it says, which also repairs whatever a change cut
   * short left behind. Notices go out for the users who really arrived in or left a room.
   */
  async sync(e: SyncEvent): Promise<void> {
    const { joined, left } = await this.store.setInstance(e.instanceId, e.sockets);
    await this.store.heartbeat(e.instanceId, e.startedAt);
    await Promise.all([
      ...joined.map((d) => this.announce(d.room, 'join', d.user)),
      this.announceDepartures(left, true),
      this.webhooks(joined, left),
    ]);
    this.logger.log(`synced instance ${e.instanceId}: ${e.sockets.length} socket(s)`);
  }

  async removeInstance(instanceId: string, reason: string): Promise<void> {
    const departures = await this.store.removeInstance(instanceId);
    this.logger.log(
      `removed instance ${instanceId} (${reason}): ${departures.length} room departure(s)`,
    );
    await Promise.all([this.announceDepartures(departures, true), this.webhooks([], departures)]);
  }

  /**
   * Leave notices for `departures`. After a bulk change (an instance removed or synced: many
   * notices, published over some time) a user may reconnect through another gateway meanwhile,
   * and another replica may announce the return before our leave goes out (notices of different
   * replicas are not ordered with each other). So the users are read again before: one already
   * back gets no leave; and after the leaves are confirmed: one back by then gets a join from
   * us, which the broker routes after our leave, so the room's last word on them is right.
   */
  private async announceDepartures(departures: RoomDeparture[], bulk = false): Promise<void> {
    if (!bulk || departures.length === 0) {
      await Promise.all(departures.map((d) => this.announce(d.room, 'leave', d.user)));
      return;
    }
    const gone = await this.store.stillGone(departures);
    await Promise.all(gone.map((d) => this.announce(d.room, 'leave', d.user)));
    const stillGone = new Set(await this.store.stillGone(gone));
    await Promise.all(
      gone.filter((d) => !stillGone.has(d)).map((d) => this.announce(d.room, 'join', d.user)),
    );
  }

  /**
   * The webhook events of these changes (none unless the store numbers them: WEBHOOK_URL set),
   * each room's in their order. Unlike the notices they are not re-read after a bulk change: each
   * has its place in the room's order from the script that made it, so a return after a removal
   * comes after it by number, whichever replica publishes first (the sender orders them).
   */
  private async webhooks(joined: RoomDeparture[], left: RoomDeparture[]): Promise<void> {
    const now = Date.now();
    const envelopes = [
      ...joined.flatMap((c) => memberWebhooks(c, 'join', now)),
      ...left.flatMap((c) => memberWebhooks(c, 'leave', now)),
    ];
    if (envelopes.length === 0) return;
    envelopes.sort((a, b) => (a.room === b.room ? a.seq - b.seq : a.room < b.room ? -1 : 1));
    await this.outbox.webhooks(envelopes);
  }

  private async announce(room: string, event: 'join' | 'leave', user: User): Promise<void> {
    if (!this.policies.of(room).presence) return;
    return this.outbox.announce({ room, event, user });
  }
}
