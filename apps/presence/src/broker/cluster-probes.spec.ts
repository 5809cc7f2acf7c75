import type { QueueState } from '@roomcast/amqp-transport';
import { ClusterQueueProbes, mergeQueueStates } from './cluster-probes';
import { LINK_SETTLE_MS } from './queue-watch.service';

const present: QueueState = { state: 'present' };
const missing: QueueState = { state: 'missing' };
const unknown: QueueState = { state: 'unknown', error: new Error('link down') };

const answer = (state: QueueState, settling = false) => ({
  states: new Map([['q', state]]),
  settling,
});
const merged = (...answers: ReturnType<typeof answer>[]) =>
  mergeQueueStates(answers, ['q']).get('q')!.state;

describe("a gateway's queue over several broker clusters", () => {
  it('is there when any cluster has it', () => {
    expect(merged(answer(missing), answer(present))).toBe('present');
    expect(merged(answer(unknown), answer(present))).toBe('present');
    expect(merged(answer(present, true), answer(missing))).toBe('present');
  });

  it('is missing when no cluster has it and one that answered says so (a crashed gateway)', () => {
    expect(merged(answer(missing), answer(missing))).toBe('missing');
    expect(merged(answer(missing), answer(unknown))).toBe('missing');
  });

  it('is unknown when no cluster answered, or only one that reconnected just now', () => {
    expect(merged(answer(unknown), answer(unknown))).toBe('unknown');
    // A restarted broker has no gateway queue until each gateway declares its own again.
    expect(merged(answer(missing, true), answer(unknown))).toBe('unknown');
  });

  it('reads the settling of each cluster from its probe', async () => {
    const now = 1_000_000;
    const probe = (state: QueueState, reconnectedAt?: number) => ({
      reconnectedAt,
      check: async (queues: readonly string[]) => new Map(queues.map((q) => [q, state])),
    });
    const recent = new ClusterQueueProbes([probe(missing, now - 10), probe(unknown)], () => now);
    expect((await recent.check(['q'])).get('q')!.state).toBe('unknown');
    const settled = new ClusterQueueProbes(
      [probe(missing, now - LINK_SETTLE_MS - 1), probe(unknown)],
      () => now,
    );
    expect((await settled.check(['q'])).get('q')!.state).toBe('missing');
    expect(settled.reconnectedAt).toBeUndefined();
  });
});
