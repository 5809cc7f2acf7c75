import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Options } from 'amqplib';
import { webhookQueueName } from './names';

/**
 * The broker side of webhooks, in one place: the queues each URL has, their arguments, and the
 * dead-letter queue an operator lists and replays (PROTOCOL.md, "Server API and webhooks").
 *
 * - `<base>.<hash of URL>`: the URL's backlog, a quorum queue bound to every webhook key, with at
 *   most `maxLength` events; past it the oldest is pushed out (drop-head) into the dead-letter
 *   queue, so a receiver that is down never makes a chat publish fail or wait, and what it missed
 *   can still be replayed.
 * - `<base>.<hash>.wait`: where the sender parks the events of a room that is failing: each
 *   comes back to the backlog when its TTL (the park period, set per message, so the setting
 *   can change without a new queue) runs out, dead-lettered at least once, so a failing room
 *   holds no delivery slot while it waits.
 * - `<base>.dead-letters`: one per deployment, shared by the URLs: events whose attempts ran out
 *   and events pushed out of a full backlog, each with the queue it came from.
 * - `<base>.urls`: the URL queues the last configuration had (one message), so the queue of a URL
 *   taken out of WEBHOOK_URL can be unbound at the next start.
 */

/** An unused queue (no consumer, no redeclare) goes after a week, with whatever it holds. */
export const WEBHOOK_QUEUE_EXPIRES_MS = 7 * 24 * 3600 * 1000;

/** Headers the sender puts on parked and dead-lettered events. */
export const WebhookHeader = {
  /** Attempts made so far. */
  Attempts: 'x-roomcast-attempts',
  /** Not to be attempted before this time (ms since the epoch). */
  NotBefore: 'x-roomcast-not-before',
  /** The event went round the wait queue (it is not new). */
  Parked: 'x-roomcast-parked',
  /** What the last attempt got (`HTTP 503`, `ECONNREFUSED`...). */
  LastError: 'x-roomcast-last-error',
  /** The URL queue a dead letter came from, where a replay sends it back. */
  Queue: 'x-roomcast-queue',
  /** The URL, for people (origin and path only). */
  Url: 'x-roomcast-url',
  /** When it was dead-lettered (ms since the epoch). */
  DeadAt: 'x-roomcast-dead-at',
} as const;

export interface WebhookQueueNames {
  main: string;
  wait: string;
  deadLetters: string;
}

export function webhookQueues(base: string, url: string): WebhookQueueNames {
  const main = webhookQueueName(base, url);
  return { main, wait: `${main}.wait`, deadLetters: webhookDeadLetterQueue(base) };
}

export const webhookDeadLetterQueue = (base: string): string => `${base}.dead-letters`;
export const webhookRegistryQueue = (base: string): string => `${base}.urls`;

export interface WebhookQueueLimits {
  /** Events a URL's backlog holds (WEBHOOK_QUEUE_MAX). */
  maxLength: number;
  /** Dead letters kept (WEBHOOK_DEAD_LETTER_MAX); past it the oldest are dropped. */
  deadLetterMax: number;
}

/**
 * Declares a URL's queues and binds its backlog. Quorum queue arguments cannot change: a queue
 * declared with other limits fails with PRECONDITION_FAILED (a policy can lower them; see docs).
 */
export async function declareWebhookQueues(
  ch: Channel,
  options: { exchange: string; pattern: string; base: string; url: string } & WebhookQueueLimits,
): Promise<WebhookQueueNames> {
  const names = webhookQueues(options.base, options.url);
  await declareDeadLetterQueue(ch, options.base, options.deadLetterMax);
  await ch.assertQueue(names.main, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-single-active-consumer': true,
      'x-expires': WEBHOOK_QUEUE_EXPIRES_MS,
      'x-max-length': options.maxLength,
      'x-overflow': 'drop-head',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.deadLetters,
    },
  });
  await ch.assertQueue(names.wait, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-expires': WEBHOOK_QUEUE_EXPIRES_MS,
      'x-max-length': options.maxLength,
      // At-least-once dead-lettering (back to the backlog) needs reject-publish: a full wait
      // queue refuses the park, and the sender keeps the event until it can park it.
      'x-overflow': 'reject-publish',
      'x-dead-letter-strategy': 'at-least-once',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.main,
    },
  });
  await ch.assertExchange(options.exchange, 'topic', { durable: true });
  await ch.bindQueue(names.main, options.exchange, options.pattern);
  return names;
}

export async function declareDeadLetterQueue(
  ch: Channel,
  base: string,
  deadLetterMax: number,
): Promise<string> {
  const name = webhookDeadLetterQueue(base);
  await ch.assertQueue(name, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-max-length': deadLetterMax,
      'x-overflow': 'drop-head',
    },
  });
  return name;
}

/**
 * Unbinds the backlog of every URL queue the last configuration had and this one does not
 * (`current`), then records `current`. The unbound queue keeps its backlog: the URL put back
 * within WEBHOOK_QUEUE_EXPIRES_MS gets it; otherwise the broker deletes the queue with it.
 * Returns the queues unbound. Each unbind runs on a channel of its own: a queue already gone is
 * a channel error that must not end the others.
 */
export async function unbindRemovedWebhookQueues(
  connection: ChannelModel,
  options: {
    exchange: string;
    pattern: string;
    base: string;
    current: string[];
    /** False: do nothing when there is no record yet (no URL now, none before). */
    createRegistry: boolean;
  },
): Promise<string[]> {
  const registry = webhookRegistryQueue(options.base);
  if (!options.createRegistry && !(await queueExists(connection, registry))) return [];
  const ch = await connection.createConfirmChannel();
  try {
    // One message, the latest list: drop-head keeps only the newest.
    await ch.assertQueue(registry, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1, 'x-overflow': 'drop-head' },
    });
    const last = await ch.get(registry, { noAck: false });
    let previous: string[] = [];
    if (last) {
      try {
        const parsed = JSON.parse(last.content.toString('utf8')) as { queues?: unknown };
        if (Array.isArray(parsed.queues))
          previous = parsed.queues.filter((q): q is string => typeof q === 'string');
      } catch {
        // an unreadable record is replaced below
      }
      ch.nack(last, false, true);
    }
    const removed = previous.filter((q) => !options.current.includes(q));
    for (const queue of removed) {
      const one = await connection.createChannel();
      one.on('error', () => undefined);
      await one.unbindQueue(queue, options.exchange, options.pattern).catch(() => undefined);
      await one.close().catch(() => undefined);
    }
    await publishConfirmed(ch, registry, Buffer.from(JSON.stringify({ queues: options.current })));
    return removed;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Publishes to a queue (default exchange), persistent; resolves once the broker confirmed it. */
export function publishConfirmed(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  options: Options.Publish = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish('', queue, content, { ...options, persistent: true }, (err: unknown) =>
      err ? reject(err instanceof Error ? err : new Error('the broker refused it')) : resolve(),
    );
  });
}

/** One dead letter as an operator sees it. */
export interface DeadLetter {
  /** The event's `id`. */
  id: string;
  /** `attempts`: its attempts ran out; `overflow`: pushed out of a full backlog. */
  reason: 'attempts' | 'overflow' | 'other';
  /** The URL queue it came from and goes back to on replay. */
  queue: string;
  url?: string;
  attempts?: number;
  lastError?: string;
  /** When it was dead-lettered (ms since the epoch). */
  at?: number;
  /** The envelope as published: `{ room, seq, event }`. */
  envelope: unknown;
}

/** What a dead-letter message says of itself. */
export function readDeadLetter(msg: GetMessage): DeadLetter {
  const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
  let envelope: unknown;
  try {
    envelope = JSON.parse(msg.content.toString('utf8'));
  } catch {
    envelope = undefined;
  }
  const event = (envelope as { event?: { id?: unknown } } | undefined)?.event;
  const deathReason = h['x-first-death-reason'];
  const deathTime = (h['x-death'] as { time?: { value?: number } }[] | undefined)?.[0]?.time?.value;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    id: str(event?.id) ?? '',
    reason: h[WebhookHeader.Queue] ? 'attempts' : deathReason === 'maxlen' ? 'overflow' : 'other',
    queue: str(h[WebhookHeader.Queue]) ?? str(h['x-first-death-queue']) ?? '',
    url: str(h[WebhookHeader.Url]),
    attempts: num(h[WebhookHeader.Attempts]),
    lastError: str(h[WebhookHeader.LastError]),
    at: num(h[WebhookHeader.DeadAt]) ?? (deathTime !== undefined ? deathTime * 1000 : undefined),
    envelope,
  };
}

/**
 * The first `limit` dead letters of the queue, left where they are (taken without
 * acknowledgement, then handed back), oldest first. No dead-letter queue yet: none.
 */
export async function listDeadLetters(
  connection: ChannelModel,
  base: string,
  limit: number,
): Promise<{ deadLetters: DeadLetter[]; total: number }> {
  const queue = webhookDeadLetterQueue(base);
  if (!(await queueExists(connection, queue))) return { deadLetters: [], total: 0 };
  const ch = await connection.createChannel();
  const taken: GetMessage[] = [];
  try {
    const { messageCount } = await ch.checkQueue(queue);
    for (let i = 0; i < Math.min(limit, messageCount); i++) {
      const msg = await ch.get(queue, { noAck: false });
      if (!msg) break;
      taken.push(msg);
    }
    return { deadLetters: taken.map(readDeadLetter).sort(byDeath), total: messageCount };
  } finally {
    // One by one, in the order taken: they go back in that order (nackAll reverses them).
    for (const msg of taken) ch.nack(msg, false, true);
    await ch.close().catch(() => undefined);
  }
}

/**
 * Sends dead letters back to the URL queues they came from, oldest first: all of the first
 * `limit`, or of those only the ones whose event id is in `ids`. Each is acknowledged only once
 * its queue confirmed it; one whose queue no longer exists stays a dead letter (`kept`).
 */
export async function replayDeadLetters(
  connection: ChannelModel,
  base: string,
  options: { limit: number; ids?: string[] },
): Promise<{ replayed: string[]; kept: number; remaining: number }> {
  const queue = webhookDeadLetterQueue(base);
  if (!(await queueExists(connection, queue))) return { replayed: [], kept: 0, remaining: 0 };
  const ch = await connection.createConfirmChannel();
  const replayed: string[] = [];
  let kept = 0;
  try {
    const { messageCount } = await ch.checkQueue(queue);
    const wanted = options.ids ? new Set(options.ids) : undefined;
    const exists = new Map<string, boolean>();
    const taken: GetMessage[] = [];
    for (let i = 0; i < Math.min(options.limit, messageCount); i++) {
      const msg = await ch.get(queue, { noAck: false });
      if (!msg) break;
      taken.push(msg);
    }
    // Oldest first, a room's by number: the queue's own order changes when a listing hands
    // messages back (a quorum queue puts them behind those that came meanwhile).
    const ordered = taken.map((msg) => ({ msg, dead: readDeadLetter(msg) }));
    ordered.sort((a, b) => byDeath(a.dead, b.dead));
    for (const { msg, dead } of ordered) {
      if (wanted && !wanted.has(dead.id)) {
        ch.nack(msg, false, true);
        continue;
      }
      if (!exists.has(dead.queue))
        exists.set(dead.queue, await queueExists(connection, dead.queue));
      if (!dead.queue || !exists.get(dead.queue)) {
        kept++;
        ch.nack(msg, false, true);
        continue;
      }
      // A fresh event to its queue: no attempts, no parking; the room's order puts it in place.
      await publishConfirmed(ch, dead.queue, msg.content, {
        contentType: msg.properties.contentType as string | undefined,
      });
      ch.ack(msg);
      replayed.push(dead.id);
    }
    const after = await ch.checkQueue(queue);
    return { replayed, kept, remaining: after.messageCount };
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** When it died, then (same room, same millisecond) its number. */
function byDeath(a: DeadLetter, b: DeadLetter): number {
  return (a.at ?? 0) - (b.at ?? 0) || envelopeSeq(a) - envelopeSeq(b);
}

function envelopeSeq(d: DeadLetter): number {
  const seq = (d.envelope as { seq?: unknown } | undefined)?.seq;
  return typeof seq === 'number' ? seq : 0;
}

/** Whether a queue exists (a passive declare, on a channel of its own: a 404 closes it). */
async function queueExists(connection: ChannelModel, queue: string): Promise<boolean> {
  const ch = await connection.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.checkQueue(queue);
    return true;
  } catch {
    return false;
  } finally {
    await ch.close().catch(() => undefined);
  }
}
