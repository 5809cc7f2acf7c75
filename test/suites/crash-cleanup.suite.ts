import type { PresenceNotice } from '@roomcast/contracts';
import { waitFor, type RunningService, type TestClient, type TestCluster } from '@roomcast/testing';
import { suiteCluster, type Deployment } from './deployment';

interface RoomStats {
  room: string;
  users: number;
  connections: number;
  members: { id: string; name: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals a service's whole process group, as a crash or a stall would hit it. */
function signal(service: RunningService, sig: NodeJS.Signals): void {
  process.kill(-service.child.pid!, sig);
}

/**
 * Crash cleanup against real processes: presence learns from the broker that a gateway's
 * exclusive queue is gone and removes the gateway within LIVENESS_CHECK_MS; a gateway that is
 * merely stalled keeps its broker connection, so its queue, and is never removed.
 */
export function crashCleanupSuite(deployment: Deployment): void {
  describe(`crash cleanup (3 gateways, presence, stats as processes) on ${deployment.name}`, () => {
    let cluster: TestCluster;
    const { client } = suiteCluster(
      deployment,
      { label: 'crash', gateways: 3 },
      (started) => (cluster = started),
    );
    const join = async (c: TestClient, ...rooms: string[]) => {
      for (const room of rooms) {
        const ack = await c.ack<{ ok: boolean }>('room:join', { room });
        expect(ack.ok).toBe(true);
      }
    };
    const roomStats = async (room: string) =>
      (await (await fetch(`${cluster.api.url}/stats/rooms/${room}`)).json()) as RoomStats;
    const names = (r: RoomStats) => r.members.map((m) => m.name).sort();
    const leaves = (c: TestClient) =>
      c.presence
        .filter((p: PresenceNotice) => p.event === 'leave')
        .map((p) => `${p.user.name}@${p.room}`)
        .sort();

    it('keeps a gateway whose event loop stalls for 3 s (connection open) and its users', async () => {
      const lis = await client(0, 'Lis');
      const sam = await client(2, 'Sam');
      await join(lis, 'stall');
      await join(sam, 'stall');
      await waitFor(
        async () => (await cluster.getStats()).online === 2,
        3000,
        'both users in /stats',
      );
      const g3 = cluster.gatewayId(2);

      signal(cluster.gateways[2], 'SIGSTOP');
      const seen: string[] = [];
      try {
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          const s = await cluster.getStats();
          const r = await roomStats('stall');
          if (!s.instances.some((i) => i.id === g3) || s.online !== 2 || r.users !== 2)
            seen.push(`${s.instances.length} instances, ${s.online} online, ${r.users} in room`);
          await sleep(100);
        }
      } finally {
        signal(cluster.gateways[2], 'SIGCONT');
      }
      // A check in flight when the gateway woke up must not remove it either.
      await sleep(1500);
      const s = await cluster.getStats();
      expect(seen).toEqual([]);
      expect(s.instances.map((i) => i.id)).toContain(g3);
      expect(s.online).toBe(2);
      expect(names(await roomStats('stall'))).toEqual(['Lis', 'Sam']);
      expect(leaves(lis)).toEqual([]);
      // And it still serves: a message from its user reaches the other gateway.
      const sent = await sam.ack<{ ok: boolean }>('message:send', { room: 'stall', text: 'awake' });
      expect(sent.ok).toBe(true);
      await waitFor(
        () => lis.messages.some((m) => m.text === 'awake'),
        3000,
        'delivery after stall',
      );
    }, 30000);

    it('leaves no trace of a gateway killed with kill -9 within 2 s', async () => {
      // Gateway 1: Lis (listening), Dan's second tab. Gateway 2: Amy, Ben, Cyd, Dan. Gateway 3: Eve.
      const lis = await client(0, 'Lis');
      const amy = await client(1, 'Amy');
      const ben = await client(1, 'Ben');
      const cyd = await client(1, 'Cyd');
      const dan2 = await client(1, 'Dan');
      const dan1 = await client(0, 'Dan');
      const eve = await client(2, 'Eve');
      await join(lis, 'crash-a', 'crash-b');
      await join(amy, 'crash-a');
      await join(ben, 'crash-a', 'crash-b');
      await join(cyd, 'crash-c'); // only members on gateway 2: the room must go
      await join(dan2, 'crash-a');
      await join(dan1, 'crash-a');
      await join(eve, 'crash-b');
      await waitFor(
        async () => {
          const s = await cluster.getStats();
          return s.online === 6 && s.connections === 7 && s.rooms === 3;
        },
        3000,
        'everyone in /stats',
      );
      const g2 = cluster.gatewayId(1);
      const before = await cluster.getStats();
      expect(before.instances.find((i) => i.id === g2)?.connections).toBe(4);

      const killedAt = Date.now();
      signal(cluster.gateways[1], 'SIGKILL');
      const expectedLeaves = ['Amy@crash-a', 'Ben@crash-a', 'Ben@crash-b'];
      let last = '';
      await waitFor(
        async () => {
          const [s, a, b, c] = await Promise.all([
            cluster.getStats(),
            roomStats('crash-a'),
            roomStats('crash-b'),
            roomStats('crash-c'),
          ]);
          last = JSON.stringify({ s, a: names(a), b: names(b), c: c.users, leaves: leaves(lis) });
          return (
            !s.instances.some((i) => i.id === g2) &&
            s.instances.length === 2 &&
            s.online === 3 &&
            s.connections === 3 &&
            s.rooms === 2 &&
            a.users === 2 &&
            a.connections === 2 &&
            names(a).join() === 'Dan,Lis' &&
            b.users === 2 &&
            names(b).join() === 'Eve,Lis' &&
            c.users === 0 &&
            expectedLeaves.every((l) => leaves(lis).includes(l))
          );
        },
        10000,
        'no trace of gateway 2',
        20,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen ${last}`);
      });
      const ms = Date.now() - killedAt;
      console.log(`kill -9 convergence: ${ms} ms`);
      expect(ms).toBeLessThanOrEqual(2000);

      // Nothing more comes: no leave for Dan, still connected on gateway 1, and no repeat.
      await sleep(500);
      expect(leaves(lis)).toEqual(expectedLeaves);
      expect(leaves(eve)).toEqual(['Ben@crash-b']);
      expect(leaves(dan1)).toEqual(['Amy@crash-a', 'Ben@crash-a']);
    }, 30000);
  });
}
