import { chatSocketRoom, userSocketRoom, type Message, type Update } from '@roomcast/contracts';
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

const upd = (seq: number, targetSeq: number): Update => ({
  room: 'r',
  seq,
  id: `id${targetSeq}`,
  targetSeq,
  user: { id: 'u', name: 'U' },
  ts: Date.now(),
  kind: 'edit',
  text: `e${seq}`,
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

  it('sends updates as message:update, held back and released with the messages in seq order', () => {
    const member = server.socket('member', 'r');
    const joiner = server.socket('joiner');
    delivery.holdBack('r', server.asChat(joiner));
    joiner.join(chatSocketRoom('r'));
    delivery.emitEntry(msg(5));
    delivery.emitEntry(upd(6, 5));
    delivery.emitEntry(upd(7, 5));
    delivery.release('r', server.asChat(joiner), 6); // the snapshot's counter stood at 6
    delivery.emitEntry(upd(6, 5)); // a redelivery of what the snapshot showed
    delivery.emitEntry(msg(8));
    expect(joiner.got.map(([event, d]) => [event, (d as Message).seq])).toEqual([
      ['message:update', 7],
      ['message', 8],
    ]);
    expect(member.got.map(([event]) => event)).toEqual([
      'message',
      'message:update',
      'message:update',
      'message:update',
      'message',
    ]);
  });

  it("sends read to the user's other sockets in the room only", () => {
    const phone = server.socket('phone', 'r');
    const laptop = server.socket('laptop', 'r');
    const elsewhere = server.socket('elsewhere', 'other');
    const bob = server.socket('bob', 'r');
    for (const s of [phone, laptop, elsewhere]) s.join(userSocketRoom('ann'));
    const notice = { room: 'r', readSeq: 9, unread: 0 };
    delivery.emitRead('ann', notice, 'phone');
    expect(laptop.got).toEqual([['read', notice]]);
    expect(phone.got).toEqual([]);
    expect(elsewhere.got).toEqual([]);
    expect(bob.got).toEqual([]);
    delivery.emitRead('nobody-here', notice);
    expect(bob.got).toEqual([]);
  });
});
