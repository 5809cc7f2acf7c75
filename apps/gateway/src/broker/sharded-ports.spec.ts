import { clusterOf, clusterRanking, PresenceEvent } from '@roomcast/contracts';
import { MemoryPresenceEvents, MemoryRoomTraffic } from '../testing/memory-ports';
import { BrokerLink } from './ports';
import {
  ClusterDown,
  ShardedBrokerLink,
  ShardedPresenceEvents,
  ShardedRoomTraffic,
} from './sharded-ports';

const rooms = Array.from({ length: 30 }, (_, i) => `room-${i}`);
const onCluster = (c: number) => rooms.filter((r) => clusterOf(r, 2) === c);
const message = { t: 'typing' } as never;

describe('ShardedRoomTraffic', () => {
  function setup() {
    const shards = [new MemoryRoomTraffic(), new MemoryRoomTraffic()];
    const clusters = [{ isConnected: true }, { isConnected: true }];
    return { shards, clusters, traffic: new ShardedRoomTraffic(shards, clusters) };
  }

  it('binds, publishes and unbinds each room on its own cluster only', async () => {
    const { shards, traffic } = setup();
    for (const r of rooms) {
      await traffic.bind(r);
      await traffic.publish(r, message);
    }
    for (const c of [0, 1]) {
      expect([...shards[c].bound]).toEqual(onCluster(c));
      expect(shards[c].published.map((p) => p.room)).toEqual(onCluster(c));
    }
    for (const r of rooms) await traffic.unbind(r);
    expect(shards[0].bound.size + shards[1].bound.size).toBe(0);
  });

  it('refuses to bind a room whose cluster is down, and binds the others', async () => {
    const { shards, clusters, traffic } = setup();
    clusters[1] = { isConnected: false };
    const [down] = onCluster(1);
    const [up] = onCluster(0);
    await expect(traffic.bind(down)).rejects.toThrow(ClusterDown);
    await expect(traffic.bind(down)).rejects.toThrow(/broker cluster 2 \(of room room-\d+\)/);
    await traffic.bind(up);
    expect([...shards[0].bound]).toEqual([up]);
    expect(shards[1].bound.size).toBe(0);
  });

  it('fails a publish only where its cluster fails', async () => {
    const { shards, traffic } = setup();
    shards[1].failNext.publish = true;
    await expect(traffic.publish(onCluster(1)[0], message)).rejects.toThrow(/publish failed/);
    await traffic.publish(onCluster(0)[0], message);
    expect(shards[0].published).toHaveLength(1);
  });

  it('sends webhook events to the first cluster', async () => {
    const { shards, traffic } = setup();
    await traffic.publishWebhooks([{ room: onCluster(1)[0] } as never]);
    expect(shards[0].webhooks).toHaveLength(1);
    expect(shards[1].webhooks).toHaveLength(0);
  });
});

describe('ShardedPresenceEvents', () => {
  const sockets = Array.from({ length: 30 }, (_, i) => `socket-${i}`);

  function setup() {
    const shards = [new MemoryPresenceEvents(), new MemoryPresenceEvents()];
    const clusters = [{ isConnected: true }, { isConnected: true }];
    return { shards, clusters, presence: new ShardedPresenceEvents(shards, clusters) };
  }

  it("sends every change of one socket to the socket's cluster, in order", async () => {
    const { shards, presence } = setup();
    for (const socketId of sockets) {
      const base = { instanceId: 'g1', socketId };
      await presence.request(PresenceEvent.Connect, { ...base, user: { id: 'u', name: 'u' } });
      await presence.request(PresenceEvent.Join, {
        ...base,
        room: 'a',
        user: { id: 'u', name: 'u' },
      });
      await presence.request(PresenceEvent.Leave, { ...base, room: 'a' });
      await presence.request(PresenceEvent.Disconnect, base);
    }
    for (const socketId of sockets) {
      const c = clusterOf(socketId, 2);
      const events = shards[c].events.filter(
        (e) => (e.payload as { socketId: string }).socketId === socketId,
      );
      expect(events.map((e) => e.event)).toEqual([
        PresenceEvent.Connect,
        PresenceEvent.Join,
        PresenceEvent.Leave,
        PresenceEvent.Disconnect,
      ]);
      expect(
        shards[1 - c].events.some((e) => (e.payload as { socketId: string }).socketId === socketId),
      ).toBe(false);
    }
  });

  it("splits a batch of many sockets' changes by the sockets' clusters, answers in its order", async () => {
    const { shards, presence } = setup();
    shards[1].failRequests = 1;
    const changes = sockets.map((socketId) => ({
      event: PresenceEvent.Leave,
      payload: { instanceId: 'g1', socketId, room: 'a' },
    }));
    const { results } = await presence.request(PresenceEvent.Batch, { instanceId: 'g1', changes });
    // Cluster 2 did not answer: its changes fail, cluster 1's are applied, each in its place.
    expect(results.map((r) => (r === null ? 'ok' : 'failed'))).toEqual(
      sockets.map((s) => (clusterOf(s, 2) === 0 ? 'ok' : 'failed')),
    );
    expect(shards[0].of(PresenceEvent.Leave).map((e) => e.socketId)).toEqual(
      sockets.filter((s) => clusterOf(s, 2) === 0),
    );
    expect(shards[1].of(PresenceEvent.Leave)).toEqual([]);
  });

  it('answers a room as reachable only while its cluster is connected', () => {
    const traffic = new ShardedRoomTraffic(
      [new MemoryRoomTraffic(), new MemoryRoomTraffic()],
      [{ isConnected: true }, { isConnected: false }],
    );
    expect(traffic.reaches(onCluster(0)[0])).toBe(true);
    expect(traffic.reaches(onCluster(1)[0])).toBe(false);
  });

  it("sends a socket's changes to the next cluster of its ranking while its own is down", async () => {
    const { shards, clusters, presence } = setup();
    const socketId = sockets.find((s) => clusterOf(s, 2) === 1)!;
    clusters[1] = { isConnected: false };
    await presence.request(PresenceEvent.Disconnect, { instanceId: 'g1', socketId });
    expect(clusterRanking(socketId, 2)).toEqual([1, 0]);
    expect(shards[0].of(PresenceEvent.Disconnect)).toEqual([{ instanceId: 'g1', socketId }]);
    expect(shards[1].events).toHaveLength(0);
  });

  it("sends the instance's own events (heartbeat, check) by its id, elsewhere when down", async () => {
    const { shards, clusters, presence } = setup();
    const home = clusterOf('g1', 2);
    await presence.publish(PresenceEvent.Heartbeat, { instanceId: 'g1', startedAt: 1 });
    await presence.request(PresenceEvent.Check, { instanceId: 'g1' });
    expect(shards[home].events.map((e) => e.event)).toEqual([
      PresenceEvent.Heartbeat,
      PresenceEvent.Check,
    ]);
    clusters[home] = { isConnected: false };
    await presence.publish(PresenceEvent.Heartbeat, { instanceId: 'g1', startedAt: 1 });
    expect(shards[1 - home].of(PresenceEvent.Heartbeat)).toHaveLength(1);
  });
});

describe('ShardedBrokerLink', () => {
  class FakeLink extends BrokerLink {
    publisherConnected = true;
    connected = true;
    restored: (() => void)[] = [];
    replaced: ((reason: string) => void)[] = [];
    onRestored(listener: () => void): void {
      this.restored.push(listener);
    }
    onPublisherReplaced(listener: (reason: string) => void): void {
      this.replaced.push(listener);
    }
  }

  it('is ready while any cluster is connected, and says which are', () => {
    const links = [new FakeLink(), new FakeLink()];
    const link = new ShardedBrokerLink(links);
    expect(link.connected).toBe(true);
    links[1].connected = false;
    links[1].publisherConnected = false;
    expect(link.connected).toBe(true);
    expect(link.publisherConnected).toBe(true);
    expect(link.clusterStates()).toEqual([true, false]);
    links[0].connected = false;
    links[0].publisherConnected = false;
    expect(link.connected).toBe(false);
    expect(link.publisherConnected).toBe(false);
  });

  it("reports each cluster's restoration and publisher replacement", () => {
    const links = [new FakeLink(), new FakeLink()];
    const link = new ShardedBrokerLink(links);
    const seen: string[] = [];
    link.onRestored(() => seen.push('restored'));
    link.onPublisherReplaced((why) => seen.push(why));
    links[1].restored[0]();
    links[0].replaced[0]('nacks');
    expect(seen).toEqual(['restored', 'nacks']);
  });
});
