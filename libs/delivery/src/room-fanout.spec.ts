import type { Message, RoomEntry, RoomEnvelope } from '@roomcast/contracts';
import { setImmediate as turn } from 'node:timers/promises';
import { RoomFanout } from './room-fanout';

const msg = (room: string, seq: number): RoomEntry => ({
  t: 'message',
  message: { id: `m${seq}`, room, seq, text: 't', user: { id: 'u', name: 'U' }, ts: 1 } as Message,
  prev: seq - 1,
});

interface Sent {
  key: string;
  body: RoomEnvelope;
  bcc?: string[];
  confirm: () => void;
  nack: () => void;
}

/** A broker whose confirms the test gives (or refuses) one by one. */
function setup(options = { maxItems: 64, maxWaitMs: 1000 }) {
  const sent: Sent[] = [];
  const fanout = new RoomFanout(
    (key, body, { bcc }) =>
      new Promise<void>((resolve, reject) => {
        sent.push({
          key,
          body,
          ...(bcc?.length ? { bcc } : {}),
          confirm: resolve,
          nack: () => reject(new Error('nack')),
        });
      }),
    options,
  );
  return { fanout, sent };
}

const shape = (sent: Sent[]) => sent.map(({ key, body, bcc }) => ({ key, body, bcc }));

describe('RoomFanout', () => {
  it('publishes a lone entry as it is, once the turn is over', async () => {
    const { fanout, sent } = setup();
    const done = fanout.publish('a', msg('a', 1));
    expect(sent).toEqual([]);
    await turn();
    expect(shape(sent)).toEqual([{ key: 'room.a', body: msg('a', 1), bcc: undefined }]);
    sent[0].confirm();
    await done;
  });

  it("sends one turn's entries of several rooms as one message routed by every room's key", async () => {
    const { fanout, sent } = setup();
    const done = Promise.all([
      fanout.publish('a', msg('a', 1)),
      fanout.publish('b', msg('b', 7)),
      fanout.publish('a', msg('a', 2)),
      fanout.publish('c', msg('c', 3)),
    ]);
    await turn();
    expect(shape(sent)).toEqual([
      {
        key: 'room.a',
        body: { t: 'batch', items: [msg('a', 1), msg('b', 7), msg('a', 2), msg('c', 3)] },
        bcc: ['room.b', 'room.c'],
      },
    ]);
    sent[0].confirm();
    await done;
  });

  it('holds what comes while a message awaits its confirm, then sends it all as one', async () => {
    const { fanout, sent } = setup();
    const first = fanout.publish('a', msg('a', 1));
    await turn();
    let settled = 0;
    const later = [2, 3, 4].map((s) =>
      fanout.publish(s % 2 ? 'a' : 'b', msg(s % 2 ? 'a' : 'b', s)).then(() => settled++),
    );
    await turn();
    await turn();
    expect(sent).toHaveLength(1);
    sent[0].confirm();
    await first;
    await turn();
    expect(sent).toHaveLength(2);
    expect(sent[1].body).toEqual({ t: 'batch', items: [msg('b', 2), msg('a', 3), msg('b', 4)] });
    expect(settled).toBe(0); // no ack before the confirm of the message that carries it
    sent[1].confirm();
    await Promise.all(later);
    expect(settled).toBe(3);
  });

  it('fails every publish a refused message carried, and only those', async () => {
    const { fanout, sent } = setup();
    const first = Promise.allSettled([fanout.publish('a', msg('a', 1))]);
    await turn();
    const second = Promise.allSettled([
      fanout.publish('a', msg('a', 2)),
      fanout.publish('b', msg('b', 1)),
    ]);
    sent[0].nack();
    expect((await first).map((r) => r.status)).toEqual(['rejected']);
    await turn();
    sent[1].confirm();
    expect((await second).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
  });

  it('sends a full batch at once, beside the one in flight', async () => {
    const { fanout, sent } = setup({ maxItems: 3, maxWaitMs: 1000 });
    void fanout.publish('a', msg('a', 1));
    await turn();
    const full = [2, 3, 4].map((s) => fanout.publish('a', msg('a', s)));
    expect(sent).toHaveLength(2);
    expect(sent[1].body).toEqual({ t: 'batch', items: [2, 3, 4].map((s) => msg('a', s)) });
    sent[1].confirm();
    await Promise.all(full);
    sent[0].confirm();
  });

  it('sends what waited beside a slow confirm after maxWaitMs', async () => {
    const { fanout, sent } = setup({ maxItems: 64, maxWaitMs: 20 });
    void fanout.publish('a', msg('a', 1));
    await turn();
    const waiting = fanout.publish('a', msg('a', 2));
    await new Promise((r) => setTimeout(r, 5));
    expect(sent).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(sent).toHaveLength(2);
    sent[1].confirm();
    await waiting;
    sent[0].confirm();
  });
});
