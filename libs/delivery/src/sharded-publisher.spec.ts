import { clusterOf, type RoomEnvelope } from '@roomcast/contracts';
import { firstConnected, ShardedRoomPublisher } from './sharded-publisher';

const envelope = (text: string): RoomEnvelope =>
  ({ t: 'typing', room: 'r', user: { id: text, name: text } }) as unknown as RoomEnvelope;

/** A publisher that records what it got, failing when told to. */
function shard(fail = false) {
  const got: string[] = [];
  return {
    got,
    publish: (room: string) =>
      fail ? Promise.reject(new Error('cluster down')) : (got.push(room), Promise.resolve()),
  };
}

describe('ShardedRoomPublisher', () => {
  const rooms = Array.from({ length: 40 }, (_, i) => `room-${i}`);

  it("sends every room's entries to its own cluster's publisher, and only there", async () => {
    const shards = [shard(), shard(), shard()];
    const sharded = new ShardedRoomPublisher(shards);
    for (const r of rooms) await sharded.publish(r, envelope(r));
    for (const [i, s] of shards.entries()) {
      expect(s.got).toEqual(rooms.filter((r) => clusterOf(r, 3) === i));
      expect(s.got.length).toBeGreaterThan(0);
    }
  });

  it('fails only the rooms of a cluster whose publisher fails', async () => {
    const shards = [shard(), shard(true)];
    const sharded = new ShardedRoomPublisher(shards);
    const outcomes = await Promise.allSettled(rooms.map((r) => sharded.publish(r, envelope(r))));
    for (const [i, r] of rooms.entries()) {
      expect(outcomes[i].status).toBe(clusterOf(r, 2) === 1 ? 'rejected' : 'fulfilled');
    }
    expect(shards[0].got).toEqual(rooms.filter((r) => clusterOf(r, 2) === 0));
  });

  it('is its one publisher with one cluster', async () => {
    const one = shard();
    await new ShardedRoomPublisher([one]).publish('general', envelope('x'));
    expect(one.got).toEqual(['general']);
    expect(() => new ShardedRoomPublisher([])).toThrow(/needs a publisher/);
  });
});

describe('firstConnected', () => {
  const links = (...up: boolean[]) => up.map((isConnected) => ({ isConnected }));

  it('picks the first connected link in the order given', () => {
    expect(firstConnected(links(true, true))).toBe(0);
    expect(firstConnected(links(false, true))).toBe(1);
    expect(firstConnected(links(true, false, true), [1, 2, 0])).toBe(2);
  });

  it('picks the first in order when none is connected (its publish then fails)', () => {
    expect(firstConnected(links(false, false))).toBe(0);
    expect(firstConnected(links(false, false), [1, 0])).toBe(1);
  });
});
