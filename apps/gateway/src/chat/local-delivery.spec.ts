import { chatSocketRoom, userSocketRoom, type Message } from '@roomcast/contracts';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { fakeServer } from '../testing/fake-io';
import { LocalDelivery } from './local-delivery';

const msg = (seq: number, text = `m${seq}`): Message => ({
  id: `id${seq}`,
  room: 'r',
  seq,
  text,
  user: { id: 'u', name: 'U' },
  ts: Date.now(),
  serverId: 'g',
});

describe('LocalDelivery', () => {
  let delivery: LocalDelivery;
  let server: ReturnType<typeof fakeServer>;

  beforeEach(() => {
    server = fakeServer();
    delivery = new LocalDelivery(new GatewayMetrics(new Registry()));
    delivery.attach(server.io);
  });

  it('broadcasts a message to the members of its room only', () => {
    const a = server.socket('a', 'r');
    const b = server.socket('b', 'other');
    delivery.emitMessage(msg(1));
    expect(a.texts()).toEqual(['m1']);
    expect(b.got).toEqual([]);
  });

  it('holds a joining socket back, then sends it only what its history did not hold', () => {
    const member = server.socket('member', 'r');
    const joiner = server.socket('joiner');
    delivery.holdBack('r', server.asChat(joiner));
    joiner.join(chatSocketRoom('r'));
    delivery.emitMessage(msg(5));
    delivery.emitMessage(msg(6));
    expect(joiner.got).toEqual([]); // still reading its history
    delivery.release('r', server.asChat(joiner), 5); // history ended at 5
    expect(joiner.texts()).toEqual(['m6']);
    // A late duplicate of what the history held is not sent again; newer ones are.
    delivery.emitMessage(msg(4));
    delivery.emitMessage(msg(7));
    expect(joiner.texts()).toEqual(['m6', 'm7']);
    expect(member.texts()).toEqual(['m5', 'm6', 'm4', 'm7']);
  });

  it('forgets a socket that left mid-join', () => {
    const joiner = server.socket('joiner');
    delivery.holdBack('r', server.asChat(joiner));
    delivery.forget('r', server.asChat(joiner));
    delivery.release('r', server.asChat(joiner), 0);
    delivery.emitMessage(msg(1));
    expect(joiner.got).toEqual([]);
  });

  it("sends typing to the room's other users, none of the typing user's own sockets", () => {
    const ann1 = server.socket('ann1', 'r');
    const ann2 = server.socket('ann2', 'r');
    ann1.join(userSocketRoom('ann'));
    ann2.join(userSocketRoom('ann'));
    const bob = server.socket('bob', 'r');
    delivery.emitTyping({ room: 'r', user: { id: 'ann', name: 'Ann' }, typing: true });
    expect(ann1.got).toEqual([]);
    expect(ann2.got).toEqual([]);
    expect(bob.got).toEqual([
      ['typing', { room: 'r', user: { id: 'ann', name: 'Ann' }, typing: true }],
    ]);
  });
});
