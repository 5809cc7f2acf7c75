import { Logger } from '@nestjs/common';
import { openConnection, webhookQueueName } from '@roomcast/amqp-transport';
import { ALL_WEBHOOKS_PATTERN, type WebhookEnvelope } from '@roomcast/contracts';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { RoomOrder } from './room-order';
import { retryDelay, signWebhook } from './webhook-signature';

export interface WebhookSenderOptions {
  /** The broker's URLs (AMQP_URL as a list). */
  amqpUrls: string[];
  exchange: string;
  /** WEBHOOK_QUEUE: the queue is `<queueBase>.<hash of the URL>`. */
  queueBase: string;
  secret: string;
  timeoutMs: number;
  retryMs: number;
  maxRetryMs: number;
  reorderMs: number;
  prefetch: number;
  /** Names the broker connection (`<instance>/webhooks`). */
  name?: string;
  /** Counts each POST's outcome. */
  onAttempt?: (result: 'delivered' | 'failed') => void;
}

/**
 * An unused queue (no sender consuming, no redeclare) goes after a week: a URL taken out of
 * WEBHOOK_URL does not collect events for ever.
 */
const QUEUE_EXPIRES_MS = 7 * 24 * 3600 * 1000;
/** A room without events for this long is forgotten by the reorder step. */
const ROOM_IDLE_MS = 60_000;

interface Delivery {
  envelope: WebhookEnvelope;
  msg: ConsumeMessage;
  channel: Channel;
}

/**
 * Sends one URL's webhook events from its durable queue on the broker: a quorum queue bound to
 * `webhook.*`, with a single active consumer, so of several presence replicas one sends and the
 * others stand by, and its events survive the loss of a broker node. An event is acknowledged
 * only after the receiver answered 2xx; until then it is retried with exponential backoff, for
 * as long as it takes. A sender that stops or dies leaves its unacknowledged events in the queue,
 * which hands them to the next consumer: nothing is lost, some may come twice (the `id` tells).
 *
 * Each room's events go one at a time, in their order (RoomOrder); rooms go side by side, up to
 * `prefetch` events in flight, so a room whose events are refused holds back no other.
 */
export class WebhookSender {
  private readonly logger: Logger;
  readonly queue: string;
  private connection?: AmqpConnectionManager;
  private wrapper?: ChannelWrapper;
  /** The channel consuming now: a delivery of an earlier one is not acknowledged on this one. */
  private channel?: Channel;
  private readonly order: RoomOrder<Delivery>;
  /** Each room's delivery in progress, the room's next waiting for it. */
  private readonly chains = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private readonly stop = new AbortController();
  private failures = 0;

  constructor(
    readonly url: string,
    private readonly options: WebhookSenderOptions,
  ) {
    this.queue = webhookQueueName(options.queueBase, url);
    this.logger = new Logger(`WebhookSender ${redactWebhookUrl(url)}`);
    this.order = new RoomOrder(options.reorderMs, Math.max(ROOM_IDLE_MS, options.reorderMs * 10));
  }

  /** Declares the queue and starts consuming; resolves once the first setup is done. */
  async start(): Promise<void> {
    this.connection = await openConnection({
      urls: this.options.amqpUrls,
      exchange: this.options.exchange,
      name: this.options.name,
    });
    this.wrapper = this.connection.createChannel({
      json: false,
      setup: (ch: Channel) => this.setup(ch),
    });
    this.wrapper.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    await this.wrapper.waitForConnect();
    const tick = Math.max(20, Math.floor(this.options.reorderMs / 4));
    this.timer = setInterval(() => this.enqueue(this.order.expire(Date.now())), tick);
  }

  /** Stops sending; what is not acknowledged yet stays in the queue for the next sender. */
  async close(): Promise<void> {
    this.stop.abort();
    clearInterval(this.timer);
    this.channel = undefined;
    await this.wrapper?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }

  private async setup(ch: Channel): Promise<void> {
    // What the last channel held goes back to the queue with it and comes again on this one.
    this.order.clear();
    this.channel = ch;
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    ch.on('error', (err: Error) => this.logger.warn(`channel closed: ${err.message}`));
    const { exchange, prefetch } = this.options;
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(this.queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-single-active-consumer': true,
        'x-expires': QUEUE_EXPIRES_MS,
      },
    });
    await ch.bindQueue(this.queue, exchange, ALL_WEBHOOKS_PATTERN);
    await ch.prefetch(prefetch);
    await ch.consume(this.queue, (msg) => this.onMessage(ch, msg), { noAck: false });
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (!msg) return; // the broker cancelled us (queue deleted): the next connect redeclares
    let envelope: WebhookEnvelope;
    try {
      envelope = JSON.parse(msg.content.toString('utf8')) as WebhookEnvelope;
      if (typeof envelope.room !== 'string' || !Number.isInteger(envelope.seq) || !envelope.event)
        throw new Error('not a webhook envelope');
    } catch (err) {
      // Nothing will ever send it: dropped, not retried for ever.
      this.logger.error(`dropped an undecodable event: ${(err as Error).message}`);
      channel.ack(msg);
      return;
    }
    this.enqueue(
      this.order.push(envelope.room, envelope.seq, { envelope, msg, channel }, Date.now()),
    );
  }

  /** Appends deliveries to their rooms' chains: a room's next starts when its last is done. */
  private enqueue(deliveries: Delivery[]): void {
    for (const d of deliveries) {
      const room = d.envelope.room;
      const next = (this.chains.get(room) ?? Promise.resolve()).then(() => this.deliver(d));
      this.chains.set(room, next);
      void next.finally(() => {
        if (this.chains.get(room) === next) this.chains.delete(room);
      });
    }
  }

  /** POSTs until a 2xx, then acknowledges; gives up only when its channel is gone. */
  private async deliver(d: Delivery): Promise<void> {
    const body = JSON.stringify(d.envelope.event);
    for (let attempt = 1; ; attempt++) {
      if (this.channel !== d.channel || this.stop.signal.aborted) return;
      const problem = await this.post(body);
      this.options.onAttempt?.(problem === undefined ? 'delivered' : 'failed');
      if (problem === undefined) {
        this.failures = 0;
        if (this.channel === d.channel) d.channel.ack(d.msg);
        return;
      }
      if (this.failures++ % 20 === 0)
        this.logger.warn(
          `${d.envelope.event.type} ${d.envelope.event.id} not delivered (${problem}); retrying`,
        );
      await sleep(
        retryDelay(attempt, this.options.retryMs, this.options.maxRetryMs),
        this.stop.signal,
      );
    }
  }

  /** One attempt: undefined on a 2xx, else what went wrong. */
  private async post(body: string): Promise<string | undefined> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'roomcast-webhooks',
          'x-roomcast-signature': signWebhook(this.options.secret, body),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stop.signal]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.cause?.code ?? e.name ?? 'error';
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A URL for logs: its origin and path, without credentials or query (which may hold a token). */
export function redactWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad URL)';
  }
}
