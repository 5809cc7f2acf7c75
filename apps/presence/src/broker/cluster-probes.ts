import type { AmqpQueueProbe, QueueState } from '@roomcast/amqp-transport';
import { LINK_SETTLE_MS } from './queue-watch.service';

/** What the queue watch asks of a probe (AmqpQueueProbe, or this composite). */
export type QueueProbe = Pick<AmqpQueueProbe, 'check' | 'reconnectedAt'>;

/**
 * One cluster's answers merged with the others': a gateway has its queue on every broker cluster
 * of AMQP_URL, so its queue is there when any cluster says so; missing when none does and some
 * cluster, trusted now, says missing (a gateway that crashed loses all of them); else unknown.
 * A cluster whose probe link came back within `settleMs` is not trusted about missing queues (a
 * restarted broker has none until each gateway declares its own again): its "missing" counts as
 * no answer, its "present" still counts.
 */
export function mergeQueueStates(
  answers: { states: Map<string, QueueState>; settling: boolean }[],
  queues: readonly string[],
): Map<string, QueueState> {
  const merged = new Map<string, QueueState>();
  for (const queue of queues) {
    const states = answers.map((a) => {
      const s = a.states.get(queue);
      if (s?.state === 'missing' && a.settling) {
        return { state: 'unknown', error: new Error('a broker cluster reconnected just now') };
      }
      return s ?? { state: 'unknown', error: new Error('not checked') };
    }) as QueueState[];
    merged.set(
      queue,
      states.find((s) => s.state === 'present') ??
        states.find((s) => s.state === 'missing') ??
        states[0],
    );
  }
  return merged;
}

/**
 * The queue probes of several broker clusters as one (mergeQueueStates). Its own link never
 * "comes back" as a whole: each cluster's settling is applied to that cluster's answers.
 */
export class ClusterQueueProbes implements QueueProbe {
  constructor(
    private readonly probes: readonly QueueProbe[],
    private readonly now: () => number = Date.now,
  ) {}

  readonly reconnectedAt = undefined;

  async check(queues: readonly string[]): Promise<Map<string, QueueState>> {
    const answers = await Promise.all(
      this.probes.map(async (p) => {
        const at = p.reconnectedAt;
        return {
          states: await p.check(queues),
          settling: at !== undefined && this.now() - at < LINK_SETTLE_MS,
        };
      }),
    );
    return mergeQueueStates(answers, queues);
  }
}
