import type { QueueState } from '@roomcast/amqp-transport';
import { watchQueuesOnce, type QueueWatchDeps } from './queue-watch.service';

/** A broker and a presence state in memory: queue states by name, instances presence knows. */
function fakes(options: {
  instances: string[];
  queues: Record<string, QueueState>;
  locked?: boolean;
  settling?: boolean;
  graceMs?: number;
}) {
  const clock = { now: 1_000_000 };
  const known = new Set(options.instances);
  const calls = { lock: 0, instances: 0, check: [] as string[][], removed: [] as string[] };
  const deps: QueueWatchDeps = {
    tryLock: async () => {
      calls.lock++;
      return !options.locked;
    },
    instances: async () => {
      calls.instances++;
      return [...known];
    },
    queueOf: (id) => `ex.gateway.${id}`,
    check: async (queues) => {
      calls.check.push(queues);
      return new Map(queues.map((q) => [q, options.queues[q]] as const).filter(([, s]) => s));
    },
    remove: async (id) => {
      known.delete(id);
      calls.removed.push(id);
    },
    settling: () => options.settling ?? false,
    graceMs: options.graceMs ?? 0,
    staleMs: 1500,
    now: () => clock.now,
    missingSince: new Map(),
  };
  return { deps, calls, known, clock };
}

const present: QueueState = { state: 'present' };
const missing: QueueState = { state: 'missing' };
const noAnswer = (message: string): QueueState => ({ state: 'unknown', error: new Error(message) });

describe('watchQueuesOnce', () => {
  it('removes an instance whose queue the broker says does not exist (404)', async () => {
    const { deps, calls, known } = fakes({
      instances: ['g1', 'g2'],
      queues: { 'ex.gateway.g1': present, 'ex.gateway.g2': missing },
    });
    const round = await watchQueuesOnce(deps);
    expect(round).toEqual({ checked: true, removed: ['g2'], unknown: [] });
    expect(calls.check).toEqual([['ex.gateway.g1', 'ex.gateway.g2']]);
    expect([...known]).toEqual(['g1']);
  });

  it('keeps an instance when the broker gives no answer (link down, timeout, other error)', async () => {
    const { deps, calls } = fakes({
      instances: ['g1', 'g2', 'g3'],
      queues: {
        'ex.gateway.g1': noAnswer('the broker connection is down'),
        'ex.gateway.g2': noAnswer('checkQueue ex.gateway.g2: no answer within 1000 ms'),
        'ex.gateway.g3': noAnswer('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'),
      },
    });
    const round = await watchQueuesOnce(deps);
    expect(round.removed).toEqual([]);
    expect(round.unknown).toEqual(['g1', 'g2', 'g3']);
    expect(round.error?.message).toBe('the broker connection is down');
    expect(calls.removed).toEqual([]);
  });

  it('keeps an instance the check did not report on', async () => {
    const { deps, calls } = fakes({ instances: ['g1'], queues: {} });
    expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], unknown: ['g1'] });
    expect(calls.removed).toEqual([]);
  });

  it('does nothing when another replica holds the lock', async () => {
    const { deps, calls } = fakes({
      instances: ['g1'],
      queues: { 'ex.gateway.g1': missing },
      locked: true,
    });
    expect(await watchQueuesOnce(deps)).toEqual({ checked: false, removed: [], unknown: [] });
    expect(calls).toEqual({ lock: 1, instances: 0, check: [], removed: [] });
  });

  it('removes nothing for a missing queue right after its own broker link came back', async () => {
    const { deps, calls } = fakes({
      instances: ['g1'],
      queues: { 'ex.gateway.g1': missing },
      settling: true,
    });
    expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], unknown: ['g1'] });
    expect(calls.removed).toEqual([]);
  });

  it('asks the broker nothing when no instance is known', async () => {
    const { deps, calls } = fakes({ instances: [], queues: {} });
    expect(await watchQueuesOnce(deps)).toEqual({ checked: true, removed: [], unknown: [] });
    expect(calls.check).toEqual([]);
  });

  describe("with a grace time (a broker cluster: a node may take a live gateway's queue)", () => {
    it('removes an instance only once its queue has been missing for the grace time', async () => {
      const { deps, known, clock } = fakes({
        instances: ['g1', 'g2'],
        queues: { 'ex.gateway.g1': missing, 'ex.gateway.g2': present },
        graceMs: 3000,
      });
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], waiting: ['g1'] });
      for (let t = 500; t < 3000; t += 500) {
        clock.now += 500;
        expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], waiting: ['g1'] });
      }
      clock.now += 500;
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: ['g1'] });
      expect([...known]).toEqual(['g2']);
      expect(deps.missingSince.size).toBe(0);
    });

    it('keeps an instance whose queue comes back within the grace, and starts over after', async () => {
      const queues: Record<string, QueueState> = { 'ex.gateway.g1': missing };
      const { deps, calls, clock } = fakes({ instances: ['g1'], queues, graceMs: 3000 });
      await watchQueuesOnce(deps);
      clock.now += 1000;
      queues['ex.gateway.g1'] = present; // the gateway declared it again on another node
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [] });
      clock.now += 2500;
      queues['ex.gateway.g1'] = missing;
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], waiting: ['g1'] });
      clock.now += 2500;
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], waiting: ['g1'] });
      expect(calls.removed).toEqual([]);
    });

    it('starts the grace over when rounds were skipped (another replica held the lock)', async () => {
      const { deps, calls, clock } = fakes({
        instances: ['g1'],
        queues: { 'ex.gateway.g1': missing },
        graceMs: 3000,
      });
      await watchQueuesOnce(deps);
      clock.now += 4000; // longer than staleMs without a sighting
      expect(await watchQueuesOnce(deps)).toMatchObject({ removed: [], waiting: ['g1'] });
      expect(calls.removed).toEqual([]);
    });

    it('forgets sightings of instances presence no longer knows', async () => {
      const { deps, known } = fakes({
        instances: ['g1'],
        queues: { 'ex.gateway.g1': missing },
        graceMs: 3000,
      });
      await watchQueuesOnce(deps);
      known.delete('g1'); // removed by the TTL sweep meanwhile
      await watchQueuesOnce(deps);
      expect(deps.missingSince.size).toBe(0);
    });
  });
});
