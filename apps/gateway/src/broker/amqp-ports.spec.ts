import type { AmqpTopicClient, AmqpTopicServer } from '@roomcast/amqp-transport';
import type { Message, RoomEnvelope } from '@roomcast/contracts';
import { setImmediate as turn } from 'node:timers/promises';
import { AmqpRoomTraffic } from './amqp-ports';

const msg = (room: string, seq: number): RoomEnvelope => ({
  t: 'message',
  message: { id: `m${seq}`, room, seq, text: 't', user: { id: 'u', name: 'U' }, ts: 1 } as Message,
  prev: seq - 1,
});

function setup(fail = new Set<string>()) {
  const published: { key: string; body: RoomEnvelope }[] = [];
  const client = {
    publishEvent: (key: string, body: RoomEnvelope) => {
      published.push({ key, body });
      return fail.has(key) ? Promise.reject(new Error('nack')) : Promise.resolve();
    },
  } as unknown as AmqpTopicClient;
  return { traffic: new AmqpRoomTraffic(client, {} as AmqpTopicServer), published };
}

describe('AmqpRoomTraffic', () => {
  it('publishes a lone envelope as it is, once the turn is over', async () => {
    const { traffic, published } = setup();
    const done = traffic.publish('a', msg('a', 1));
    expect(published).toEqual([]);
    await done;
    expect(published).toEqual([{ key: 'room.a', body: msg('a', 1) }]);
  });

  it("sends one turn's envelopes of a room as one batch, in publish order, one per room", async () => {
    const { traffic, published } = setup();
    await Promise.all([
      traffic.publish('a', msg('a', 1)),
      traffic.publish('b', msg('b', 7)),
      traffic.publish('a', msg('a', 2)),
      traffic.publish('a', msg('a', 3)),
    ]);
    expect(published).toEqual([
      { key: 'room.a', body: { t: 'batch', room: 'a', items: [1, 2, 3].map((s) => msg('a', s)) } },
      { key: 'room.b', body: msg('b', 7) },
    ]);
    // The next turn starts a new message.
    await traffic.publish('a', msg('a', 4));
    expect(published.at(-1)).toEqual({ key: 'room.a', body: msg('a', 4) });
  });

  it('fails every publish of a batch the broker refused, and only those', async () => {
    const { traffic } = setup(new Set(['room.bad']));
    const results = await Promise.allSettled([
      traffic.publish('bad', msg('bad', 1)),
      traffic.publish('ok', msg('ok', 1)),
      traffic.publish('bad', msg('bad', 2)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    await turn();
  });
});
