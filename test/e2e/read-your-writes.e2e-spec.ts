import type { User } from '@roomcast/contracts';
import {
  connectClient,
  requireServices,
  startCluster,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const ROUNDS = 200;

interface JoinAck {
  ok: boolean;
  members: User[];
  memberCount: number;
}
interface MembersAck {
  ok: boolean;
  members: User[];
}
interface RoomStatsBody {
  users: number;
  connections: number;
  members: User[];
}

/**
 * Read-your-writes (PROTOCOL.md): once a join or leave is acked, every member list or count
 * read that starts after the ack, on any gateway or from the Stats API, reflects it. Each round
 * uses a new room and moves the three roles round the three gateways; every read is made at
 * once, without waiting or retrying.
 */
describe('read-your-writes for joins and leaves (3 gateways, 200 rounds)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'ryw',
      gateways: 3,
      // Each client sends about five events a round: well past the default budget.
      gatewayEnv: { RATE_LIMIT_EVENTS_PER_SEC: '5000', RATE_LIMIT_EVENTS_BURST: '5000' },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  it('never shows a stale member list or count after an ok ack', async () => {
    // Ann, Bob and a reader on each gateway.
    const on = async (name: string) => {
      const three: TestClient[] = [];
      for (const gw of cluster.gateways) three.push(await connectClient(gw.url, name));
      clients.push(...three);
      return three;
    };
    const [anns, bobs, readers] = [await on('Ann'), await on('Bob'), await on('Reader')];
    const annId = (await anns[0].ack<JoinAck>('room:join', { room: 'ids' })).members[0].id;
    const roomStats = async (room: string) =>
      (await (await fetch(`${cluster.api.url}/stats/rooms/${room}`)).json()) as RoomStatsBody;
    const stale: string[] = [];
    const check = (round: number, what: string, ok: boolean) => {
      if (!ok) stale.push(`round ${round}: ${what}`);
    };

    for (let i = 0; i < ROUNDS; i++) {
      const room = `ryw-${i}`;
      const ann = anns[i % 3];
      const bob = bobs[(i + 1) % 3];
      const reader = readers[(i + 2) % 3];
      expect((await ann.ack<JoinAck>('room:join', { room })).ok).toBe(true);
      await reader.ack('room:join', { room });
      // After Ann's ack: Bob's join ack, a member read elsewhere and the Stats API all have her.
      const [joined, read, statsJoined] = await Promise.all([
        bob.ack<JoinAck>('room:join', { room }),
        reader.ack<MembersAck>('room:members', { room }),
        roomStats(room),
      ]);
      check(
        i,
        "Bob's join ack lacks Ann",
        joined.members.some((m) => m.id === annId),
      );
      check(i, 'memberCount is not 3', joined.memberCount === 3);
      check(
        i,
        'a member read lacks Ann',
        read.members.some((m) => m.id === annId),
      );
      check(
        i,
        'the Stats API lacks Ann',
        statsJoined.members.some((m) => m.id === annId),
      );

      expect((await ann.ack('room:leave', { room })).ok).toBe(true);
      // After Ann's leave ack: nobody lists her any more.
      const [bobRead, readerRead, statsLeft] = await Promise.all([
        bob.ack<MembersAck>('room:members', { room }),
        reader.ack<MembersAck>('room:members', { room }),
        roomStats(room),
      ]);
      check(i, "Bob's read still lists Ann", !bobRead.members.some((m) => m.id === annId));
      check(i, "the reader's read lists Ann", !readerRead.members.some((m) => m.id === annId));
      check(i, 'the Stats API lists Ann', !statsLeft.members.some((m) => m.id === annId));
      check(i, 'the Stats API does not count 2 users', statsLeft.users === 2);
      await bob.ack('room:leave', { room });
      await reader.ack('room:leave', { room });
    }
    expect(stale).toEqual([]);
  }, 120000);
});
