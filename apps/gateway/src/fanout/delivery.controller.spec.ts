import fc from 'fast-check';
import type { Message, RoomEntry } from '@roomcast/contracts';
import { runFuzz } from '@roomcast/testing';
import type { GatewayMetrics } from '../metrics/gateway.metrics';
import { DeliveryController } from './delivery.controller';
import type { LocalDelivery } from './local-delivery';
import type { RoomRegistry } from '../membership/room-registry';
import { RoomSequencer } from './room-sequencer';

/** Seqs divisible by 3 are updates (of the message before them): one log, one order. */
const entry = (room: string, seq: number): RoomEntry =>
  seq % 3 === 0
    ? {
        t: 'update',
        update: {
          room,
          seq,
          id: `m${seq - 1}`,
          targetSeq: seq - 1,
          user: { id: 'u', name: 'U' },
          ts: 1,
          kind: 'react',
          emoji: 'x',
          on: true,
        },
        prev: seq - 1,
      }
    : message(room, seq);

const message = (room: string, seq: number): RoomEntry => ({
  t: 'message',
  message: { id: `m${seq}`, room, seq, text: 't', user: { id: 'u', name: 'U' }, ts: 1 } as Message,
  prev: seq - 1,
});

async function setup(rooms: string[]) {
  const emitted: Message[] = [];
  const counts = { deliveries: 0, unused: 0, entries: 0, unusedEntries: 0 };
  const sequencer = new RoomSequencer({
    emit: (m) => emitted.push(m as Message),
    currentSeq: async () => 0,
    fetch: async () => [],
    gapMs: 60000,
  });
  for (const r of rooms) await sequencer.start(r);
  const counter = (k: keyof typeof counts) => ({ inc: (n = 1) => void (counts[k] += n) });
  const controller = new DeliveryController(
    {
      emitPresence: () => undefined,
      emitTyping: () => undefined,
      emitRead: () => undefined,
    } as unknown as LocalDelivery,
    {
      has: (room: string) => rooms.includes(room),
      isBound: (room: string) => rooms.includes(room),
    } as unknown as RoomRegistry,
    sequencer,
    {
      deliveries: counter('deliveries'),
      unusedDeliveries: counter('unused'),
      entries: counter('entries'),
      unusedEntries: counter('unusedEntries'),
    } as unknown as GatewayMetrics,
  );
  return { controller, emitted, counts };
}

describe('DeliveryController', () => {
  it('counts a batch for rooms without local members as one unused delivery', async () => {
    const { controller, emitted, counts } = await setup(['here']);
    controller.onRoomEvent({ t: 'batch', items: [message('gone', 1), message('away', 1)] });
    expect(counts).toEqual({ deliveries: 1, unused: 1, entries: 2, unusedEntries: 2 });
    expect(emitted).toEqual([]);
  });

  it('applies the entries of hosted rooms of a batch of several rooms and counts the others', async () => {
    const { controller, emitted, counts } = await setup(['here']);
    controller.onRoomEvent({
      t: 'batch',
      items: [message('gone', 7), message('here', 1), message('away', 3), message('here', 2)],
    });
    expect(emitted.map((m) => [m.room, m.seq])).toEqual([
      ['here', 1],
      ['here', 2],
    ]);
    expect(counts).toEqual({ deliveries: 1, unused: 0, entries: 4, unusedEntries: 2 });
  });

  it('emits every message and update once, in seq order, however they are batched and ordered', async () => {
    await runFuzz(
      'delivery of batched entries',
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((n) =>
          fc.record({
            order: fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i + 1),
              { minLength: n, maxLength: n },
            ),
            cuts: fc.array(fc.integer({ min: 1, max: n }), { maxLength: 10 }),
            repeats: fc.array(fc.integer({ min: 1, max: n }), { maxLength: 5 }),
          }),
        ),
        async ({ order, cuts, repeats }) => {
          const { controller, emitted, counts } = await setup(['r']);
          // Redeliveries of seqs already sent ride along at the end, batched or not; entries of
          // a room not hosted here share the batches.
          const seqs = [...order, ...repeats];
          const bounds = [...new Set([0, ...cuts.filter((c) => c < seqs.length), seqs.length])];
          bounds.sort((a, b) => a - b);
          let others = 0;
          for (let i = 0; i + 1 < bounds.length; i++) {
            const part = seqs.slice(bounds[i], bounds[i + 1]).map((s) => entry('r', s));
            if (part.length > 1) part.splice(1, 0, entry('elsewhere', ++others));
            controller.onRoomEvent(part.length === 1 ? part[0] : { t: 'batch', items: part });
          }
          expect(emitted.map((m) => m.seq)).toEqual(order.map((_, i) => i + 1));
          expect(counts.unused).toBe(0);
          expect(counts.unusedEntries).toBe(others);
        },
      ),
      { defaultRuns: 200 },
    );
  });
});
