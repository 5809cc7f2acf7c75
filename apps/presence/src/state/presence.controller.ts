import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import {
  PresenceEvent,
  type BatchAnswer,
  type BatchedChange,
  type BatchRequest,
  type CheckRequest,
  type ConnectEvent,
  type DisconnectEvent,
  type GoodbyeEvent,
  type HeartbeatEvent,
  type InstanceCounts,
  type JoinEvent,
  type RoomEvent,
  type SyncEvent,
} from '@roomcast/contracts';
import { PresenceMetrics } from './presence.metrics';
import { PresenceService } from './presence.service';

/**
 * Gateway traffic from the `presence.#` bindings of the shared presence queue. A socket's
 * changes are requests: the answer goes back once the change is in Redis, and the gateway sends
 * the socket's next change only then, so replicas working side by side never reorder them.
 */
@Controller()
export class PresenceController {
  constructor(
    private readonly presence: PresenceService,
    private readonly metrics: PresenceMetrics,
  ) {}

  private applied(event: string): null {
    this.metrics.applied.inc({ event });
    return null;
  }

  @MessagePattern(PresenceEvent.Connect)
  async onConnect(@Payload() e: ConnectEvent): Promise<null> {
    await this.presence.connect(e.instanceId, e.socketId, e.user);
    return this.applied(PresenceEvent.Connect);
  }

  @MessagePattern(PresenceEvent.Join)
  async onJoin(@Payload() e: JoinEvent): Promise<null> {
    await this.presence.join(e.instanceId, e.socketId, e.user, e.room);
    return this.applied(PresenceEvent.Join);
  }

  @MessagePattern(PresenceEvent.Leave)
  async onLeave(@Payload() e: RoomEvent): Promise<null> {
    await this.presence.leave(e.instanceId, e.socketId, e.room);
    return this.applied(PresenceEvent.Leave);
  }

  @MessagePattern(PresenceEvent.Disconnect)
  async onDisconnect(@Payload() e: DisconnectEvent): Promise<null> {
    await this.presence.disconnect(e.instanceId, e.socketId);
    return this.applied(PresenceEvent.Disconnect);
  }

  @MessagePattern(PresenceEvent.Sync)
  async onSync(@Payload() e: SyncEvent): Promise<null> {
    await this.presence.sync(e);
    return this.applied(PresenceEvent.Sync);
  }

  /**
   * Socket changes a gateway grouped under load: each applied as if it came alone, a socket's
   * changes one after another in the batch's order, different sockets' side by side; the answer
   * says, per change, whether it was applied. A change of a kind presence does not take fails on
   * its own, the rest still apply.
   */
  @MessagePattern(PresenceEvent.Batch)
  async onBatch(@Payload() e: BatchRequest): Promise<BatchAnswer> {
    const changes: unknown[] = Array.isArray(e?.changes) ? e.changes : [];
    const results: BatchAnswer['results'] = new Array(changes.length).fill(null);
    const bySocket = new Map<string, number[]>();
    changes.forEach((c, i) => {
      const socketId = String((c as BatchedChange)?.payload?.socketId);
      const list = bySocket.get(socketId);
      if (list) list.push(i);
      else bySocket.set(socketId, [i]);
    });
    await Promise.all(
      [...bySocket.values()].map(async (indexes) => {
        for (const i of indexes) {
          try {
            await this.applyChange(changes[i] as BatchedChange);
          } catch (err) {
            results[i] = { error: err instanceof Error ? err.message : String(err) };
          }
        }
      }),
    );
    return { results };
  }

  private applyChange(change: BatchedChange): Promise<null> {
    switch (change?.event) {
      case PresenceEvent.Connect:
        return this.onConnect(change.payload);
      case PresenceEvent.Join:
        return this.onJoin(change.payload);
      case PresenceEvent.Leave:
        return this.onLeave(change.payload);
      case PresenceEvent.Disconnect:
        return this.onDisconnect(change.payload);
      default:
        return Promise.reject(
          new Error(`not a socket change: ${String((change as { event?: unknown })?.event)}`),
        );
    }
  }

  @MessagePattern(PresenceEvent.Check)
  onCheck(@Payload() e: CheckRequest): Promise<InstanceCounts> {
    this.applied(PresenceEvent.Check);
    return this.presence.counts(e.instanceId);
  }

  @EventPattern(PresenceEvent.Heartbeat)
  async onHeartbeat(@Payload() e: HeartbeatEvent) {
    await this.presence.heartbeat(e);
    this.applied(PresenceEvent.Heartbeat);
    // Its counters' `at` is when the gateway sent it: presence's lag (roomcast_presence_lag_seconds).
    const sent = e.metrics?.at;
    if (typeof sent === 'number' && Number.isFinite(sent))
      this.metrics.lag.observe(Math.max(0, Date.now() - sent) / 1000);
  }

  @EventPattern(PresenceEvent.Goodbye)
  async onGoodbye(@Payload() e: GoodbyeEvent) {
    await this.presence.removeInstance(e.instanceId, 'goodbye');
    this.applied(PresenceEvent.Goodbye);
  }
}
