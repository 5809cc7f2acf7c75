import {
  exited,
  readMetric,
  stopService,
  waitFor,
  type RunningService,
  type TestCluster,
} from '@roomcast/testing';
import type { Message } from '@roomcast/contracts';
import { suiteCluster, type Deployment } from './deployment';

/** What a deployment's own tests get: the running cluster, once the suite has started it. */
export interface ChatSuiteContext {
  cluster(): TestCluster;
}

/**
 * The whole cluster as real processes: 3 gateways, presence and stats on one exchange and one
 * Redis prefix of this run's own, driven by socket.io clients connected straight to each gateway.
 * One suite, run on each deployment (standalone Redis in e2e, a Redis Cluster in test/cluster);
 * `more` adds a deployment's own tests, which run before the last two (they stop gateways).
 */
export function chatSuite(deployment: Deployment, more?: (ctx: ChatSuiteContext) => void): void {
  describe(`roomcast cluster (3 gateways, presence, stats as processes) on ${deployment.name}`, () => {
    let cluster: TestCluster;
    let gateways: RunningService[];
    let stats: RunningService;
    let prefix: string;
    const getStats = () => cluster.getStats();
    const { clients, client } = suiteCluster(deployment, { label: 'e2e' }, (started) => {
      cluster = started;
      ({ gateways, api: stats, prefix } = cluster);
    });

    it('delivers every message across instances exactly once, sender included, in seq order', async () => {
      const ann = await client(0, 'Ann');
      const bob = await client(1, 'Bob');
      const cat = await client(2, 'Cat'); // on the third gateway, in another room only
      await ann.ack('room:join', { room: 'general' });
      await bob.ack('room:join', { room: 'general' });
      await cat.ack('room:join', { room: 'elsewhere' });
      // Cat's own join notice reaches gateway 3 through presence: let it land before counting.
      await waitFor(
        () => cat.presence.some((p) => p.room === 'elsewhere'),
        3000,
        "Cat's join notice",
      );
      const g3Before = await readMetric(gateways[2].url, 'roomcast_broker_deliveries_total');

      const acks: { seq: number }[] = [];
      for (let i = 0; i < 10; i++) {
        acks.push(await ann.ack('message:send', { room: 'general', text: `ann ${i}` }));
        acks.push(await bob.ack('message:send', { room: 'general', text: `bob ${i}` }));
      }
      // A burst from one sender, not awaited one by one.
      acks.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            ann.ack<{ seq: number }>('message:send', { room: 'general', text: `burst ${i}` }),
          ),
        )),
      );
      expect(acks.every((a) => (a as unknown as { ok: boolean }).ok)).toBe(true);

      const seqs = acks.map((a) => a.seq).sort((a, b) => a - b);
      for (const member of [ann, bob]) {
        await waitFor(() => member.messages.length >= 40, 5000, '40 messages at each member');
        await new Promise((r) => setTimeout(r, 200)); // would a duplicate still arrive?
        const got = member.messages.filter((m: Message) => m.room === 'general').map((m) => m.seq);
        expect(got).toEqual(seqs); // each once, in seq order
      }
      expect(ann.messages.find((m) => m.text === 'bob 3')).toMatchObject({
        user: { name: 'Bob' },
        serverId: `${prefix}-g2`,
        room: 'general',
      });
      expect(cat.messages).toEqual([]);
      // The third gateway has no member of `general`: the broker sent it none of its messages.
      expect(await readMetric(gateways[2].url, 'roomcast_broker_deliveries_total')).toBe(g3Before);
      for (const g of gateways)
        expect(await readMetric(g.url, 'roomcast_broker_deliveries_unused_total')).toBe(0);
      expect(
        await readMetric(gateways[0].url, 'roomcast_messages_accepted_total'),
      ).toBeGreaterThanOrEqual(30);
    });

    it('returns recent history on join and unbinds a room when its last local member leaves', async () => {
      const ann = await client(0, 'Ann');
      const bob = await client(1, 'Bob');
      await ann.ack('room:join', { room: 'lobby' });
      await bob.ack('room:join', { room: 'lobby' });
      await ann.ack('message:send', { room: 'lobby', text: 'before' });
      const late = await client(2, 'Late');
      const joined = await late.ack<{
        history: Message[];
        members: { name: string }[];
        complete: boolean;
      }>('room:join', { room: 'lobby' });
      expect(joined.history.map((m) => m.text)).toContain('before');
      expect(joined.members.map((m) => m.name).sort()).toEqual(['Ann', 'Bob', 'Late']);
      expect(late.messages).toEqual([]); // history is not sent twice

      expect(await readMetric(gateways[0].url, 'roomcast_room_bindings')).toBe(1);
      expect(await ann.ack('room:leave', { room: 'lobby' })).toEqual({ ok: true, room: 'lobby' });
      await waitFor(
        async () => (await readMetric(gateways[0].url, 'roomcast_room_bindings')) === 0,
        3000,
        'unbind on gateway 1',
      );
      const g1Before = await readMetric(gateways[0].url, 'roomcast_broker_deliveries_total');
      await bob.ack('message:send', { room: 'lobby', text: 'after ann left' });
      await waitFor(
        () => late.messages.some((m) => m.text === 'after ann left'),
        3000,
        'delivery to Late',
      );
      expect(await readMetric(gateways[0].url, 'roomcast_broker_deliveries_total')).toBe(g1Before);
      expect(ann.messages.some((m) => m.text === 'after ann left')).toBe(false);
      expect(await ann.ack('message:send', { room: 'lobby', text: 'x' })).toMatchObject({
        ok: false,
        error: { code: 'NOT_IN_ROOM' },
      });
    });

    it('counts two tabs on two instances as one user, with one join and one leave notice', async () => {
      const watcher = await client(0, 'Watcher');
      await watcher.ack('room:join', { room: 'tabs' });
      const tab1 = await client(1, 'Dana');
      const tab2 = await client(2, 'Dana');
      await tab1.ack('room:join', { room: 'tabs' });
      await tab2.ack('room:join', { room: 'tabs' });
      await waitFor(
        async () => (await getStats()).connections === 3,
        1000,
        'three connections within 1 s',
      );
      expect(await getStats()).toMatchObject({ online: 2, connections: 3 });
      const room = await (await fetch(`${stats.url}/stats/rooms/tabs`)).json();
      expect(room).toMatchObject({ room: 'tabs', users: 2, connections: 3 });

      tab1.close();
      await waitFor(
        async () => (await getStats()).connections === 2,
        1000,
        'the first tab gone within 1 s',
      );
      expect((await getStats()).online).toBe(2);
      tab2.close();
      await waitFor(async () => (await getStats()).online === 1, 1000, 'Dana offline within 1 s');
      await waitFor(
        () => watcher.presence.some((p) => p.event === 'leave' && p.user.name === 'Dana'),
        2000,
        'the leave notice',
      );
      const danas = watcher.presence.filter((p) => p.user.name === 'Dana').map((p) => p.event);
      expect(danas).toEqual(['join', 'leave']);
    });

    it('answers malformed calls with INVALID_PAYLOAD and keeps the connection', async () => {
      const eve = await client(0, 'Eve');
      for (const bad of [
        undefined,
        null,
        'general',
        42,
        [1, 2],
        { room: 'a.b' },
        { room: '*' },
        { room: 'x'.repeat(65) },
        { room: 'ok', extra: 1 },
      ]) {
        expect(await eve.ack('room:join', bad)).toMatchObject({
          ok: false,
          error: { code: 'INVALID_PAYLOAD' },
        });
      }
      expect(await eve.ack('room:join', { room: 'private-ops' })).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN' },
      });
      eve.raw('room:join', { room: 'no-callback' }); // no ack: must not hurt anything
      expect(await eve.ack('room:join', { room: 'fine' })).toMatchObject({
        ok: true,
        room: 'fine',
      });
      expect(eve.socket.connected).toBe(true);
    });

    it('makes a clientId retry safe and pages history both ways', async () => {
      const ann = await client(0, 'Ann');
      const bob = await client(1, 'Bob');
      await ann.ack('room:join', { room: 'retry' });
      await bob.ack('room:join', { room: 'retry' });
      const first = await ann.ack('message:send', {
        room: 'retry',
        text: 'once',
        clientId: 'c-42',
      });
      const again = await ann.ack('message:send', {
        room: 'retry',
        text: 'once',
        clientId: 'c-42',
      });
      expect(again).toEqual(first);
      for (let i = 0; i < 9; i++) await ann.ack('message:send', { room: 'retry', text: `n${i}` });
      await waitFor(
        () => bob.messages.filter((m) => m.room === 'retry').length >= 10,
        3000,
        'ten messages',
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(bob.messages.filter((m) => m.clientId === 'c-42')).toHaveLength(1);
      // Seqs are relative to the room's first: a new room's counter starts at Redis's clock.
      const base = (first as { seq: number }).seq - 1;
      const page = async (q: Record<string, number>) =>
        (
          await bob.ack<{ messages: Message[] }>('room:history', {
            room: 'retry',
            ...Object.fromEntries(
              Object.entries(q).map(([k, v]) => [k, k === 'limit' ? v : base + v]),
            ),
          })
        ).messages.map((m) => m.seq - base);
      expect(await page({ limit: 3 })).toEqual([8, 9, 10]);
      expect(await page({ beforeSeq: 8, limit: 3 })).toEqual([5, 6, 7]);
      expect(await page({ afterSeq: 7 })).toEqual([8, 9, 10]);
      const rejoined = await bob.ack<{ history: Message[]; complete: boolean; more: boolean }>(
        'room:join',
        { room: 'retry', sinceSeq: base + 8 },
      );
      expect(rejoined.history.map((m) => m.seq - base)).toEqual([9, 10]);
      expect(rejoined.more).toBe(false);
      expect(rejoined.complete).toBe(true);
      expect(await bob.ack('room:history', { room: 'retry', limit: 101 })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_PAYLOAD' },
      });
    });

    it('answers bad Stats API parameters with 400', async () => {
      expect((await fetch(`${stats.url}/stats/rooms?limit=0`)).status).toBe(400);
      expect((await fetch(`${stats.url}/stats/rooms?limit=abc`)).status).toBe(400);
      // Plain decimal digits only: no hex, exponent, sign, space or decimal point.
      for (const limit of ['0x10', '1e3', '%2010', '10%20', '%2B10', '10.0', '1001', '']) {
        expect([limit, (await fetch(`${stats.url}/stats/rooms?limit=${limit}`)).status]).toEqual([
          limit,
          400,
        ]);
      }
      expect((await fetch(`${stats.url}/stats/rooms?limit=1000`)).status).toBe(200);
      expect((await fetch(`${stats.url}/stats/rooms/a.b`)).status).toBe(400);
      expect((await fetch(`${stats.url}/ready`)).status).toBe(200);
      expect((await fetch(`${gateways[0].url}/ready`)).status).toBe(200);
    });

    more?.({ cluster: () => cluster });

    it('clears a gateway killed with SIGKILL from stats and rooms within 15 s', async () => {
      const stay = await client(0, 'Stay');
      const doomed = await client(2, 'Doomed');
      await stay.ack('room:join', { room: 'crash' });
      await doomed.ack('room:join', { room: 'crash' });
      await waitFor(async () => (await getStats()).online === 2, 1000, 'both online');

      const killedAt = Date.now();
      stopService(gateways[2], 'SIGKILL');
      await exited(gateways[2].child);
      const gone = await waitFor(
        async () => {
          const s = await getStats();
          return s.online === 1 && !s.instances.some((i) => i.id === `${prefix}-g3`) ? s : null;
        },
        15000,
        'the killed gateway to leave no trace in /stats',
        100,
      );
      const convergedMs = Date.now() - killedAt;
      process.stdout.write(`[e2e] presence converged ${convergedMs} ms after kill -9\n`);
      expect(gone.connections).toBe(1);
      expect(await (await fetch(`${stats.url}/stats/rooms/crash`)).json()).toMatchObject({
        users: 1,
        members: [{ name: 'Stay' }],
      });
      await waitFor(
        () => stay.presence.some((p) => p.event === 'leave' && p.user.name === 'Doomed'),
        2000,
        'the leave notice',
      );
      clients.splice(clients.indexOf(doomed), 1);
    }, 30000);

    it('drains a gateway on SIGTERM: clients told, presence cleared at once, exit within 10 s', async () => {
      const stay = await client(0, 'Stayer');
      const leaving = await client(1, 'Drained');
      await stay.ack('room:join', { room: 'drain' });
      await leaving.ack('room:join', { room: 'drain' });
      await waitFor(async () => (await getStats()).online === 2, 1000, 'both online');
      const disconnected = new Promise<string>((r) =>
        leaving.socket.once('disconnect', (reason) => r(reason)),
      );

      const termAt = Date.now();
      stopService(gateways[1], 'SIGTERM');
      const reason = await disconnected;
      // A transport close (not "io server disconnect"): socket.io clients reconnect by themselves.
      expect(reason).toBe('transport close');
      await waitFor(
        async () => {
          const s = await getStats();
          return s.online === 1 && !s.instances.some((i) => i.id === `${prefix}-g2`);
        },
        2000,
        'the drained gateway gone from /stats at once, not after the crash timeout',
      );
      await waitFor(
        () => stay.presence.some((p) => p.event === 'leave' && p.user.name === 'Drained'),
        2000,
        'the leave notice',
      );
      await exited(gateways[1].child);
      const exitMs = Date.now() - termAt;
      process.stdout.write(`[e2e] SIGTERM to exit: ${exitMs} ms\n`);
      expect(exitMs).toBeLessThan(10000);
      expect(gateways[1].child.exitCode === 0 || gateways[1].child.signalCode === 'SIGTERM').toBe(
        true,
      );
      clients.splice(clients.indexOf(leaving), 1);
    }, 20000);
  });
}
