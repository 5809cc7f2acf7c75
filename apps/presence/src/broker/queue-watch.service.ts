import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { AmqpQueueProbe, type QueueState } from '@roomcast/amqp-transport';
import type { QueueProbe } from './cluster-probes';
import { gatewayQueueName } from '@roomcast/contracts';
import { PresenceStore } from '@roomcast/store';
import { PRESENCE_CONFIG, PresenceEnv, queueGoneGraceMs } from '../config/presence.env';
import { PresenceService } from '../state/presence.service';

/**
 * After presence's own broker link comes back, missing queues prove nothing for this long: if
 * the broker itself restarted, every gateway's queue is gone until the gateway reconnects and
 * declares it again (gateways retry every second).
 */
export const LINK_SETTLE_MS = 5000;

/** What one round needs, as functions, so the decisions can be tested without Redis or a broker. */
export interface QueueWatchDeps {
  /** Takes the round's lock; false when another replica holds it. */
  tryLock(): Promise<boolean>;
  /** The instances presence knows of. */
  instances(): Promise<string[]>;
  queueOf(instanceId: string): string;
  check(queues: string[]): Promise<Map<string, QueueState>>;
  remove(instanceId: string): Promise<void>;
  /** True while a missing queue proves nothing (presence's link just came back). */
  settling(): boolean;
  /** How long a queue must stay missing before its instance is removed (QUEUE_GONE_GRACE_MS). */
  graceMs: number;
  /** A sighting older than this is stale (rounds were skipped): the grace starts over. */
  staleMs: number;
  now(): number;
  /** Since when, and when last, each instance's queue was seen missing: kept across rounds. */
  missingSince: Map<string, { first: number; last: number }>;
}

export interface QueueWatchRound {
  /** False when another replica held the lock: nothing was checked. */
  checked: boolean;
  removed: string[];
  /** Instances the broker gave no answer about (kept), with the first error. */
  unknown: string[];
  /** Instances whose queue is missing but not yet for QUEUE_GONE_GRACE_MS (kept), if any. */
  waiting?: string[];
  error?: Error;
}

/**
 * One round: only a queue the broker says does not exist (404), and has said so for the grace
 * time (0 on one broker: at once), removes its instance. A queue seen again ends the grace. No answer,
 * a timeout or any other error keeps it; the TTL sweep remains the judge of those. A gateway
 * that is merely slow keeps its connection, so its queue, and is never removed here.
 */
export async function watchQueuesOnce(deps: QueueWatchDeps): Promise<QueueWatchRound> {
  const round: QueueWatchRound = { checked: false, removed: [], unknown: [] };
  if (!(await deps.tryLock())) return round;
  round.checked = true;
  const ids = await deps.instances();
  for (const id of [...deps.missingSince.keys()]) {
    if (!ids.includes(id)) deps.missingSince.delete(id);
  }
  if (ids.length === 0) return round;
  const states = await deps.check(ids.map((id) => deps.queueOf(id)));
  const settling = deps.settling();
  const now = deps.now();
  for (const id of ids) {
    const s = states.get(deps.queueOf(id));
    if (s?.state === 'missing' && !settling) {
      const seen = deps.missingSince.get(id);
      const first = seen && now - seen.last <= deps.staleMs ? seen.first : now;
      if (now - first >= deps.graceMs) {
        deps.missingSince.delete(id);
        await deps.remove(id);
        round.removed.push(id);
      } else {
        deps.missingSince.set(id, { first, last: now });
        (round.waiting ??= []).push(id);
      }
    } else if (s?.state === 'present') {
      deps.missingSince.delete(id);
    } else {
      round.unknown.push(id);
      round.error ??=
        s?.state === 'unknown'
          ? s.error
          : new Error(s ? 'presence broker link reconnected just now' : 'not checked');
    }
  }
  return round;
}

/**
 * Removes a gateway within LIVENESS_CHECK_MS of its broker connection dying, by asking the
 * broker whether the gateway's exclusive queue still exists (the broker deletes it with the
 * connection). A gateway declares its queue before it publishes anything, so presence never
 * learns of an instance whose queue does not exist yet.
 */
@Injectable()
export class QueueWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueWatch.name);
  private readonly deps: QueueWatchDeps;
  private timer?: NodeJS.Timeout;
  private running = false;
  /** The last problem logged, so a lasting one is logged once, not every round. */
  private lastProblem?: string;

  constructor(
    store: PresenceStore,
    presence: PresenceService,
    @Inject(AmqpQueueProbe) probe: QueueProbe,
    @Inject(PRESENCE_CONFIG) private readonly config: PresenceEnv,
  ) {
    const lockMs = Math.max(config.LIVENESS_CHECK_MS - 50, 50);
    this.deps = {
      tryLock: () => store.tryLockQueueWatch(config.INSTANCE_ID, lockMs),
      instances: () => store.knownInstances(),
      queueOf: (id) => gatewayQueueName(config.EXCHANGE, id),
      check: (queues) => probe.check(queues),
      remove: (id) => presence.removeInstance(id, 'queue gone'),
      settling: () => {
        const at = probe.reconnectedAt;
        return at !== undefined && Date.now() - at < LINK_SETTLE_MS;
      },
      graceMs: queueGoneGraceMs(config),
      staleMs: 3 * config.LIVENESS_CHECK_MS,
      now: () => Date.now(),
      missingSince: new Map(),
    };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.checkOnce(), this.config.LIVENESS_CHECK_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async checkOnce(): Promise<QueueWatchRound | undefined> {
    if (this.running) return undefined;
    this.running = true;
    try {
      const round = await watchQueuesOnce(this.deps);
      const problem = round.unknown.length
        ? `no answer about the queue of ${round.unknown.length} instance(s) ` +
          `(${round.error?.message}); they are kept, the TTL sweep stays in charge`
        : undefined;
      if (problem && problem !== this.lastProblem) this.logger.warn(problem);
      this.lastProblem = problem;
      for (const id of round.waiting ?? []) {
        if (this.deps.missingSince.get(id)?.first === this.deps.missingSince.get(id)?.last) {
          this.logger.log(
            `the queue of instance ${id} is gone: removed unless declared again within ` +
              `${this.deps.graceMs} ms (its broker node may have gone, not the instance)`,
          );
        }
      }
      return round;
    } catch (err) {
      this.logger.warn(`queue check failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      this.running = false;
    }
  }
}
