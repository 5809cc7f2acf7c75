import { PresenceQueries, PresenceStore } from '@roomcast/store';
import { REDIS_URL, requireServices, runPrefix } from '@roomcast/testing';
import Redis from 'ioredis';
import { MemoryPresenceOutbox } from '../testing/memory-outbox';
import { PresenceService } from './presence.service';

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

/** PresenceService over the real Redis store, telling an in-memory outbox instead of a broker. */
describe('PresenceService (real Redis, in-memory outbox)', () => {
  let redis: Redis;
  let prefix: string;
  let outbox: MemoryPresenceOutbox;
  let presence: PresenceService;
  let store: PresenceStore;
  let queries: PresenceQueries;

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
  });

  beforeEach(() => {
    prefix = `${runPrefix('presvc')}-${Math.random().toString(36).slice(2, 6)}:`;
    store = new PresenceStore(redis, prefix);
    queries = new PresenceQueries(redis, prefix);
    outbox = new MemoryPresenceOutbox();
    presence = new PresenceService(store, outbox);
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    await redis?.quit();
  });

  const beat = () => presence.heartbeat({ instanceId: 'g1', startedAt: 1 });

  it("tells a room of a user's first join and last leave, not of a second tab", async () => {
    await presence.connect('g1', 's1', ann);
    await presence.connect('g1', 's2', ann);
    await presence.join('g1', 's1', ann, 'r');
    await presence.join('g1', 's2', ann, 'r');
    await presence.leave('g1', 's1', 'r');
    await presence.disconnect('g1', 's2');
    expect(outbox.notices).toEqual([
      { room: 'r', event: 'join', user: ann },
      { room: 'r', event: 'leave', user: ann },
    ]);
  });

  it('sends no leave for a user back through another instance before the removal announces', async () => {
    await presence.connect('g1', 's1', ann);
    await presence.join('g1', 's1', ann, 'r');
    await presence.connect('g1', 's2', bob);
    await presence.join('g1', 's2', bob, 'r');
    outbox.notices.length = 0;
    // Ann reconnects through g2, applied (and announced, by another replica) between the
    // removal's scripts and its notices.
    const remove = store.removeInstance.bind(store);
    jest.spyOn(store, 'removeInstance').mockImplementationOnce(async (id: string) => {
      const departures = await remove(id);
      await presence.connect('g2', 's3', ann);
      await presence.join('g2', 's3', ann, 'r');
      return departures;
    });
    await presence.removeInstance('g1', 'queue gone');
    expect(outbox.notices).toEqual([
      { room: 'r', event: 'join', user: ann },
      { room: 'r', event: 'leave', user: bob },
    ]);
    expect((await queries.members('r')).members).toEqual([ann]);
  });

  it('tells the room a user is back when they returned while the removal announced', async () => {
    await presence.connect('g1', 's1', ann);
    await presence.join('g1', 's1', ann, 'r');
    outbox.notices.length = 0;
    // Ann's return through g2 is applied (and announced by another replica) just as the
    // removal's leave for her goes out: the room's last notice about her must say she is here.
    const announce = outbox.announce.bind(outbox);
    jest.spyOn(outbox, 'announce').mockImplementationOnce(async (notice) => {
      await presence.connect('g2', 's3', ann);
      await presence.join('g2', 's3', ann, 'r');
      await announce(notice);
    });
    await presence.removeInstance('g1', 'queue gone');
    expect(outbox.notices).toEqual([
      { room: 'r', event: 'join', user: ann },
      { room: 'r', event: 'leave', user: ann },
      { room: 'r', event: 'join', user: ann },
    ]);
  });

  it('records a joining connection it lost, so a confirmed join is always applied', async () => {
    await presence.connect('g1', 's1', ann);
    await presence.removeInstance('g1', 'swept during an outage');
    outbox.notices.length = 0;
    await presence.join('g1', 's1', ann, 'r');
    expect((await queries.members('r')).members).toEqual([ann]);
    expect(await presence.counts('g1')).toEqual({ connections: 1, memberships: 1 });
    expect(outbox.notices).toEqual([{ room: 'r', event: 'join', user: ann }]);
    // The same join again changes nothing and tells nobody.
    await presence.join('g1', 's1', ann, 'r');
    expect(await presence.counts('g1')).toEqual({ connections: 1, memberships: 1 });
    expect(outbox.notices).toHaveLength(1);
  });

  it("makes presence match an instance's own account in one sync", async () => {
    await beat();
    await presence.connect('g1', 's-gone', bob);
    await presence.join('g1', 's-gone', bob, 'r');
    await presence.connect('g1', 's1', ann);
    await presence.join('g1', 's1', ann, 'old');
    outbox.notices.length = 0;
    await presence.sync({
      instanceId: 'g1',
      startedAt: 1,
      sockets: [{ socketId: 's1', user: ann, rooms: ['r', 'new'] }],
    });
    expect((await queries.members('r')).members).toEqual([ann]);
    expect((await queries.members('old')).members).toEqual([]);
    expect(await store.instanceCounts('g1')).toEqual({ connections: 1, memberships: 2 });
    expect(outbox.notices).toEqual(
      expect.arrayContaining([
        { room: 'r', event: 'leave', user: bob },
        { room: 'old', event: 'leave', user: ann },
        { room: 'r', event: 'join', user: ann },
        { room: 'new', event: 'join', user: ann },
      ]),
    );
    expect(await presence.counts('g1')).toEqual({ connections: 1, memberships: 2 });
  });

  it('removes a dead instance and tells each room its users left', async () => {
    await presence.connect('dead', 's1', ann);
    await presence.join('dead', 's1', ann, 'r');
    outbox.notices.length = 0;
    await presence.removeInstance('dead', 'test');
    expect(outbox.notices).toEqual([{ room: 'r', event: 'leave', user: ann }]);
    expect((await queries.clusterStats()).connections).toBe(0);
  });

  describe('webhook events (store numbering on)', () => {
    beforeEach(() => {
      store = new PresenceStore(redis, prefix, { webhooks: true });
      presence = new PresenceService(store, outbox);
    });

    /** The room's events as `seq type user?`, in the order they were published. */
    const log = (room: string) =>
      outbox.hooks
        .filter((h) => h.room === room)
        .map(
          (h) =>
            `${h.seq} ${h.event.type}${'user' in h.event.data ? ` ${h.event.data.user.id}` : ''}`,
        );

    it('numbers occupied, joins, leaves and vacated in the order Redis applied them', async () => {
      await presence.connect('g1', 's1', ann);
      await presence.connect('g2', 's2', bob);
      await presence.join('g1', 's1', ann, 'r');
      await presence.join('g2', 's2', bob, 'r');
      await presence.join('g1', 's1', ann, 'r'); // a repeat: no event
      await presence.leave('g1', 's1', 'r');
      await presence.disconnect('g2', 's2');
      await presence.connect('g1', 's3', ann);
      await presence.join('g1', 's3', ann, 'r');
      await presence.removeInstance('g1', 'queue gone');
      // A sync brings Bob back through g2 (its gateway's account).
      await presence.sync({
        instanceId: 'g2',
        startedAt: 1,
        sockets: [{ socketId: 's4', user: bob, rooms: ['r'] }],
      });
      expect(log('r')).toEqual([
        '1 room.occupied',
        '2 member.joined u-ann',
        '3 member.joined u-bob',
        '4 member.left u-ann',
        '5 member.left u-bob',
        '6 room.vacated',
        '7 room.occupied',
        '8 member.joined u-ann',
        '9 member.left u-ann',
        '10 room.vacated',
        '11 room.occupied',
        '12 member.joined u-bob',
      ]);
      expect(new Set(outbox.hooks.map((h) => h.event.id)).size).toBe(outbox.hooks.length);
    });

    it('publishes none while the store does not number (webhooks off)', async () => {
      presence = new PresenceService(new PresenceStore(redis, prefix), outbox);
      await presence.connect('g1', 's1', ann);
      await presence.join('g1', 's1', ann, 'r');
      await presence.leave('g1', 's1', 'r');
      expect(outbox.notices).toHaveLength(2);
      expect(outbox.hooks).toEqual([]);
    });
  });
});
