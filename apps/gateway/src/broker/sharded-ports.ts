import {
  clusterOf,
  clusterRanking,
  type PresenceAnswerMap,
  PresenceEvent,
  type BatchAnswer,
  type BatchRequest,
  type PresenceEventMap,
  type PresenceRequest,
  type RoomEnvelope,
  type WebhookEnvelope,
} from '@roomcast/contracts';
import { firstConnected } from '@roomcast/delivery';
import { BrokerLink, PresenceEvents, RoomTraffic } from './ports';

/**
 * Several independent broker clusters (AMQP_URL with `;`): the ports over one cluster each,
 * composed. A room lives on one cluster (clusterOf): it is bound, and its traffic published,
 * there only. Built only with more than one cluster; with one, the one cluster's ports are used
 * as they are.
 */

/** One cluster's state, as the composites read it. */
export interface ClusterState {
  /** This instance's queue on the cluster is there, so rooms can bind on it. */
  readonly isConnected: boolean;
}

/**
 * A cluster that is down when a room on it is bound: the join fails (UNAVAILABLE) instead of
 * waiting for a broker that may not come back soon.
 */
export class ClusterDown extends Error {
  constructor(
    readonly cluster: number,
    room: string,
  ) {
    super(`broker cluster ${cluster + 1} (of room ${room}) is not connected`);
    this.name = 'ClusterDown';
  }
}

/**
 * Room traffic over several clusters: bind, unbind and publish go to the room's cluster, each
 * cluster with its own group commit (a batch carries one cluster's rooms only). A bind on a
 * cluster that is down fails at once (ClusterDown), and a publish there fails at once (the
 * transport refuses a publish over a link known to be down), so a room on a lost cluster answers
 * UNAVAILABLE while rooms on the others go on. Webhook events go to the first cluster, where
 * presence keeps the webhook queues.
 */
export class ShardedRoomTraffic extends RoomTraffic {
  constructor(
    private readonly shards: readonly RoomTraffic[],
    private readonly clusters: readonly ClusterState[],
  ) {
    super();
  }

  /** The cluster index carrying `room`. */
  clusterOf(room: string): number {
    return clusterOf(room, this.shards.length);
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return this.shards[this.clusterOf(room)].publish(room, envelope);
  }

  override reaches(room: string): boolean {
    return this.clusters[this.clusterOf(room)].isConnected;
  }

  async bind(room: string): Promise<void> {
    const c = this.clusterOf(room);
    if (!this.clusters[c].isConnected) throw new ClusterDown(c, room);
    await this.shards[c].bind(room);
  }

  /** While the cluster is down this only forgets the binding: it is not restored on reconnect. */
  unbind(room: string): Promise<void> {
    return this.shards[this.clusterOf(room)].unbind(room);
  }

  publishWebhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    return this.shards[0].publishWebhooks(envelopes);
  }
}

/**
 * Presence events over several clusters; presence consumes its queue on every one and applies
 * them to the one Redis. One socket's changes (connect, join, leave, disconnect) go to the
 * socket's cluster (clusterOf its id), so they stay on one queue, in the order sent; this
 * instance's own events (heartbeat, goodbye, check, sync) to the instance's cluster. When that
 * cluster is down they go to the next connected one in the key's ranking (clusterRanking), the
 * same in every process, so sockets whose cluster is lost still join rooms on the others. A
 * change sent to a cluster that then went down may be applied late, after one sent elsewhere:
 * its request failed, so the link's next check finds the difference and syncs.
 */
export class ShardedPresenceEvents extends PresenceEvents {
  constructor(
    private readonly shards: readonly PresenceEvents[],
    private readonly clusters: readonly ClusterState[],
  ) {
    super();
  }

  /** The cluster an event with this payload goes to now. */
  clusterFor(payload: { socketId?: string; instanceId: string }): number {
    const key = payload.socketId ?? payload.instanceId;
    return firstConnected(this.clusters, clusterRanking(key, this.shards.length));
  }

  publish<E extends PresenceEvent>(event: E, payload: PresenceEventMap[E]): Promise<void> {
    return this.shards[this.clusterFor(payload)].publish(event, payload);
  }

  request<E extends PresenceRequest>(
    event: E,
    payload: PresenceEventMap[E],
  ): Promise<PresenceAnswerMap[E]> {
    if (event === PresenceEvent.Batch)
      return this.requestBatch(payload as BatchRequest) as Promise<PresenceAnswerMap[E]>;
    return this.shards[this.clusterFor(payload)].request(event, payload);
  }

  /**
   * A batch holds changes of many sockets: each goes with its socket's cluster, as a batch of
   * its own there, and the answers are put back in the batch's order. A cluster that did not
   * answer fails its changes alone.
   */
  private async requestBatch({ instanceId, changes }: BatchRequest): Promise<BatchAnswer> {
    const byCluster = new Map<number, number[]>();
    changes.forEach((c, i) => {
      const cluster = this.clusterFor(c.payload);
      const list = byCluster.get(cluster);
      if (list) list.push(i);
      else byCluster.set(cluster, [i]);
    });
    const results: BatchAnswer['results'] = new Array(changes.length).fill(null);
    await Promise.all(
      [...byCluster].map(async ([cluster, indexes]) => {
        try {
          const answer = await this.shards[cluster].request(PresenceEvent.Batch, {
            instanceId,
            changes: indexes.map((i) => changes[i]),
          });
          indexes.forEach(
            (i, j) =>
              (results[i] = j < answer.results.length ? answer.results[j] : { error: 'no answer' }),
          );
        } catch (err) {
          for (const i of indexes) results[i] = { error: (err as Error).message };
        }
      }),
    );
    return { results };
  }
}

/**
 * The link over several clusters. Readiness (`connected`) holds while at least one cluster is
 * connected on both sides: rooms on the other clusters keep working, and every gateway loses the
 * same rooms with a cluster, so taking this one out of a load balancer would help nobody. Each
 * cluster's own state is the gauge roomcast_broker_cluster_up{cluster}. A restored cluster
 * (its queue and bindings back) and a replaced publisher are reported as with one cluster.
 */
export class ShardedBrokerLink extends BrokerLink {
  constructor(private readonly links: readonly BrokerLink[]) {
    super();
  }

  onRestored(listener: () => void): void {
    for (const link of this.links) link.onRestored(listener);
  }

  onPublisherReplaced(listener: (reason: string) => void): void {
    for (const link of this.links) link.onPublisherReplaced(listener);
  }

  /** Some cluster can take this instance's presence events (they go to any connected one). */
  get publisherConnected(): boolean {
    return this.links.some((l) => l.publisherConnected);
  }

  get connected(): boolean {
    return this.links.some((l) => l.connected);
  }

  /** Each cluster's state, in AMQP_URL's order: both sides connected. */
  clusterStates(): boolean[] {
    return this.links.map((l) => l.connected);
  }
}
