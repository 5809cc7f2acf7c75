import { PresenceEvent } from '@roomcast/contracts';
import { Registry } from 'prom-client';
import { MemoryPresenceEvents } from '../testing/memory-ports';
import { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { fakeServer } from '../testing/fake-io';
import { LocalDelivery } from '../fanout/local-delivery';
import { PresenceLink } from './presence-link';

/** Presence answering when the test says so: requests wait in `held` until released. */
class HeldPresence extends MemoryPresenceEvents {
  readonly held: { event: string; release: () => void }[] = [];
  holding = false;

  override async request<E extends Parameters<MemoryPresenceEvents['request']>[0]>(
    event: E,
    payload: Parameters<MemoryPresenceEvents['request']>[1],
  ) {
    if (this.holding) await new Promise<void>((release) => this.held.push({ event, release }));
    return super.request(event, payload as never) as never;
  }
}

function setup() {
  const config = Object.assign(new GatewayEnv(), { INSTANCE_ID: 'g1' });
  const delivery = new LocalDelivery(new GatewayMetrics(new Registry()));
  const server = fakeServer();
  delivery.attach(server.io);
  const presence = new HeldPresence();
  const link = new PresenceLink(config, presence, delivery);
  const socket = (id: string, rooms: string[] = []) => {
    const s = server.socket(id);
    s.data = { user: { id: `u-${id}`, name: id }, privateRooms: new Set(), rooms: new Set(rooms) };
    return s;
  };
  const connect = (id: string) =>
    link.apply(
      PresenceEvent.Connect,
      { instanceId: 'g1', socketId: id, user: { id: `u-${id}`, name: id } },
      { connections: 1, memberships: 0 },
    );
  const join = (id: string, room: string) =>
    link.apply(
      PresenceEvent.Join,
      { instanceId: 'g1', socketId: id, room, user: { id: `u-${id}`, name: id } },
      { connections: 0, memberships: 1 },
    );
  const sent = () => presence.events.map((e) => e.event);
  return { link, presence, server, socket, connect, join, sent };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PresenceLink', () => {
  it('checks its counts against presence and leaves it alone when they agree', async () => {
    const t = setup();
    t.socket('s1', ['r']);
    await t.connect('s1');
    await t.join('s1', 'r');
    t.presence.counts = { connections: 1, memberships: 1 };
    await t.link.check();
    expect(t.sent()).toEqual([PresenceEvent.Connect, PresenceEvent.Join, PresenceEvent.Check]);
  });

  it('sends its whole state when presence holds something else (a lost change, a sweep)', async () => {
    const t = setup();
    t.socket('s1', ['r', 'q']);
    await t.connect('s1');
    await t.join('s1', 'r');
    await t.join('s1', 'q');
    t.presence.counts = { connections: 0, memberships: 0 }; // swept meanwhile
    await t.link.check();
    expect(t.presence.of(PresenceEvent.Sync)).toEqual([
      {
        instanceId: 'g1',
        startedAt: t.link.startedAt,
        sockets: [{ socketId: 's1', user: { id: 'u-s1', name: 's1' }, rooms: ['r', 'q'] }],
      },
    ]);
    // Presence now holds what the sync said: the next check agrees.
    t.presence.counts = { connections: 1, memberships: 2 };
    await t.link.check();
    expect(t.presence.of(PresenceEvent.Sync)).toHaveLength(1);
  });

  it('syncs at the next check after a request failed, without asking for counts', async () => {
    const t = setup();
    t.socket('s1');
    t.presence.failRequests = 1;
    await expect(t.connect('s1')).rejects.toThrow('no answer');
    await t.link.check();
    expect(t.sent()).toEqual([PresenceEvent.Sync]);
    expect(t.presence.of(PresenceEvent.Sync)[0].sockets).toHaveLength(1);
  });

  it('checks only once the requests in flight are answered, and holds new ones back meanwhile', async () => {
    const t = setup();
    t.socket('s1', ['r']);
    await t.connect('s1');
    t.presence.holding = true;
    const joining = t.join('s1', 'r');
    await tick();
    const checking = t.link.check();
    await tick();
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Join]);
    t.presence.held.shift()!.release();
    await joining;
    await tick();
    // The join is answered: the check goes out; a join sent now waits behind it.
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Check]);
    t.socket('s2', ['r']);
    const later = t.join('s2', 'r');
    await tick();
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Check]);
    t.presence.counts = { connections: 1, memberships: 1 };
    t.presence.held.shift()!.release();
    await checking;
    await tick();
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Join]);
    t.presence.held.shift()!.release();
    await later;
    expect(t.presence.of(PresenceEvent.Sync)).toEqual([]);
  });

  it('lets changes go after checkHoldMs behind an unanswered check, then waits for the next', async () => {
    const t = setup();
    t.link.checkHoldMs = 50;
    t.socket('s1', ['r']);
    await t.connect('s1');
    t.presence.holding = true;
    const checking = t.link.check();
    await tick();
    const joining = t.join('s1', 'r');
    await new Promise((r) => setTimeout(r, 20));
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Check]);
    // Past the hold, the join goes out although the check is still unanswered.
    await new Promise((r) => setTimeout(r, 80));
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Check, PresenceEvent.Join]);
    t.presence.held.pop()!.release();
    await joining;
    // Its answer came after changes went out: it proves nothing, so no sync follows.
    t.presence.counts = { connections: 0, memberships: 0 };
    t.presence.held.shift()!.release();
    await checking;
    expect(t.presence.of(PresenceEvent.Sync)).toEqual([]);
    // The next check holds changes until it is answered, so it can compare.
    const next = t.link.check();
    await tick();
    t.socket('s2', []);
    const connecting = t.connect('s2');
    await new Promise((r) => setTimeout(r, 120));
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Check]);
    t.presence.counts = { connections: 1, memberships: 1 };
    t.presence.held.shift()!.release();
    await next;
    await tick();
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Connect]);
    t.presence.held.shift()!.release();
    await connecting;
    expect(t.presence.of(PresenceEvent.Sync)).toEqual([]);
  });

  it('does not count twice a change that waited behind a sync (the sync had it already)', async () => {
    const t = setup();
    t.socket('s1', ['r']);
    await t.connect('s1');
    await t.join('s1', 'r');
    t.presence.counts = { connections: 0, memberships: 0 };
    t.presence.holding = true;
    const checking = t.link.check();
    await tick();
    // A second connection arrives while the check is out: its connect waits, yet the sync that
    // follows already carries it.
    t.socket('s2', []);
    const connecting = t.connect('s2');
    t.presence.held.shift()!.release(); // the check: presence holds nothing, so a sync goes out
    await tick();
    await tick();
    expect(t.presence.held.map((h) => h.event)).toEqual([PresenceEvent.Sync]);
    t.presence.holding = false;
    t.presence.held.shift()!.release();
    await checking;
    await connecting;
    expect(t.presence.of(PresenceEvent.Sync)[0].sockets.map((s) => s.socketId)).toEqual([
      's1',
      's2',
    ]);
    t.presence.counts = { connections: 2, memberships: 1 };
    await t.link.check();
    expect(t.presence.of(PresenceEvent.Sync)).toHaveLength(1);
  });

  it('leaves out of a sync the sockets that went away', async () => {
    const t = setup();
    const gone = t.socket('s1', ['r']);
    t.socket('s2', []);
    t.server.drop(gone);
    await t.link.sync('test');
    expect(t.presence.of(PresenceEvent.Sync)[0].sockets.map((s) => s.socketId)).toEqual(['s2']);
  });
});
