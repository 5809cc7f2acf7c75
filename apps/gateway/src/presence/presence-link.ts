import { Inject, Injectable, Logger } from '@nestjs/common';
import { GroupCommit, type ItemOutcome } from '@roomcast/batching';
import { batchOptions } from '@roomcast/config';
import {
  PresenceEvent,
  type BatchedChange,
  type InstanceCounts,
  type PresenceEventMap,
  type SyncEvent,
} from '@roomcast/contracts';
import { PresenceEvents } from '../broker/ports';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { stateOf } from '../socket/chat-socket';
import { LocalDelivery } from '../fanout/local-delivery';

/** The changes of one socket, which presence applies and answers. */
export type SocketChange =
  | typeof PresenceEvent.Connect
  | typeof PresenceEvent.Join
  | typeof PresenceEvent.Leave
  | typeof PresenceEvent.Disconnect;

/**
 * This instance's link to presence. Each socket change is a request that resolves once presence
 * has applied it (the caller acks a join or leave only then); the link knows what presence
 * should hold for this instance once every request is answered, and checks it: at each
 * heartbeat it lets the requests in flight finish, holds new ones back for one round trip, and
 * asks presence for its counts. When they differ (a change was lost, the instance was swept, or
 * Redis came back empty), or a request failed, it sends its whole local state instead, which
 * presence reconciles against Redis. Every change is idempotent in presence, so a change that
 * waited behind a sync changes nothing there.
 */
@Injectable()
export class PresenceLink {
  private readonly logger = new Logger(PresenceLink.name);
  readonly startedAt = Date.now();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Set while a check or sync runs: new requests wait for it. */
  private gate?: Promise<void>;
  /** Bumped by each sync: a change made before it is in the sync's state already. */
  private epoch = 0;
  /** A request failed: presence may hold anything for us until the next sync. */
  private dirty = false;
  /** What presence holds for this instance once every answered change is counted. */
  private held: InstanceCounts = { connections: 0, memberships: 0 };
  /** The last check let changes through unanswered: the next one waits for its answer. */
  private lastCheckDiscarded = false;
  /** How long a check may hold new requests back before it lets them go. */
  checkHoldMs = 1000;

  /**
   * Socket changes go through a group commit (BATCH_MAX_ITEMS, BATCH_MAX_WAIT_MS, as sends do):
   * alone at low load, as it always did; under load, what waits for the request in flight goes
   * as one `presence.batch`, one broker message and one answer for many joins and leaves. A
   * socket has one change in flight at most (the chat service orders them), so a batch never
   * holds two of one socket that presence could reorder.
   */
  private readonly changes: GroupCommit<BatchedChange>;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly presence: PresenceEvents,
    private readonly delivery: LocalDelivery,
  ) {
    this.changes = new GroupCommit((batch) => this.commit(batch), batchOptions(config));
  }

  private async commit(batch: BatchedChange[]): Promise<ItemOutcome<void>[]> {
    if (batch.length === 1) {
      const [{ event, payload }] = batch;
      await this.presence.request(event, payload as never);
      return [{ status: 'fulfilled', value: undefined }];
    }
    const { results } = await this.presence.request(PresenceEvent.Batch, {
      instanceId: this.config.INSTANCE_ID,
      changes: batch,
    });
    // An answer of another length fails the whole batch (GroupCommit: never a false ok).
    return (results ?? []).map((r) =>
      r === null
        ? { status: 'fulfilled', value: undefined }
        : { status: 'rejected', reason: new Error(`presence: ${r.error}`) },
    );
  }

  /**
   * Sends one change of a socket (already made locally) and resolves once presence applied it.
   * `delta` is what it changes in this instance's counts. Rejects when presence did not answer:
   * the change may or may not be applied, and the next check syncs.
   */
  async apply<E extends SocketChange>(
    event: E,
    payload: PresenceEventMap[E],
    delta: InstanceCounts,
  ): Promise<void> {
    const epoch = this.epoch;
    while (this.gate) await this.gate;
    const sent = this.changes.submit({ event, payload } as BatchedChange);
    this.inflight.add(sent);
    try {
      await sent;
      if (epoch === this.epoch) {
        this.held.connections += delta.connections;
        this.held.memberships += delta.memberships;
      }
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      this.inflight.delete(sent);
    }
  }

  /**
   * Compares presence's counts for this instance with the link's, and syncs when they differ.
   * New requests are held back for `checkHoldMs` at most: a check still unanswered by then (no
   * presence replica consumes, presence is slow) lets them go and its answer is discarded, since
   * changes went out meanwhile; the next check then holds until it is answered, so a slow presence
   * still gets checked every other heartbeat. A sync, once decided, always holds them.
   */
  check(): Promise<void> {
    const capped = !this.lastCheckDiscarded;
    return this.exclusive(
      async (hold) => {
        if (hold.released()) return this.discardCheck();
        if (this.dirty) {
          if (!hold.keep()) return this.discardCheck();
          return this.syncNow('a presence request was not answered');
        }
        const counts = await this.presence.request(PresenceEvent.Check, {
          instanceId: this.config.INSTANCE_ID,
        });
        if (!hold.keep()) return this.discardCheck();
        this.lastCheckDiscarded = false;
        if (
          counts.connections !== this.held.connections ||
          counts.memberships !== this.held.memberships
        ) {
          await this.syncNow(
            `presence holds ${counts.connections} connection(s) and ${counts.memberships} ` +
              `membership(s) of this instance, not ${this.held.connections} and ${this.held.memberships}`,
          );
        }
      },
      capped ? this.checkHoldMs : undefined,
    ).catch((err: Error) => this.logger.warn(`presence check failed: ${err.message}`));
  }

  /** Sends presence this instance's whole local state (after a broker outage). */
  sync(reason: string): Promise<void> {
    return this.exclusive(() => this.syncNow(reason));
  }

  private discardCheck(): void {
    this.lastCheckDiscarded = true;
    this.logger.warn(`presence check unanswered after ${this.checkHoldMs} ms: changes let through`);
  }

  /**
   * Runs `fn` once the requests in flight are answered, holding new ones back meanwhile: until
   * `fn` is done, or for `holdMs` at most when given (`hold.keep()` then stops that clock, or says
   * that it has already run out).
   */
  private async exclusive<T>(
    fn: (hold: { released(): boolean; keep(): boolean }) => Promise<T>,
    holdMs?: number,
  ): Promise<T> {
    while (this.gate) await this.gate;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    this.gate = gate;
    let released = false;
    const release = () => {
      released = true;
      if (this.gate === gate) this.gate = undefined;
      open();
    };
    const timer = holdMs === undefined ? undefined : setTimeout(release, holdMs);
    const hold = {
      released: () => released,
      keep: () => {
        clearTimeout(timer);
        return !released;
      },
    };
    try {
      await Promise.allSettled([...this.inflight]);
      return await fn(hold);
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  private async syncNow(reason: string): Promise<void> {
    const sockets: SyncEvent['sockets'] = [];
    let memberships = 0;
    for (const socket of this.delivery.localSockets()) {
      const state = stateOf(socket);
      if (!state?.user || !state.rooms) continue;
      sockets.push({ socketId: socket.id, user: state.user, rooms: [...state.rooms] });
      memberships += state.rooms.size;
    }
    this.epoch++;
    try {
      await this.presence.request(PresenceEvent.Sync, {
        instanceId: this.config.INSTANCE_ID,
        startedAt: this.startedAt,
        sockets,
      });
      this.held = { connections: sockets.length, memberships };
      this.dirty = false;
      this.logger.log(`synced ${sockets.length} socket(s) with presence (${reason})`);
    } catch (err) {
      this.dirty = true;
      this.logger.warn(`presence sync failed (${reason}): ${(err as Error).message}`);
    }
  }
}
