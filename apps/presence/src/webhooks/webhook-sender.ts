import { Logger } from '@nestjs/common';
import { openConnection, queueMessageCounts } from '@roomcast/amqp-transport';
import {
  declareWebhookQueues,
  publishConfirmed,
  retryDelay,
  WebhookSigner,
  WebhookHeader,
  webhookQueues,
  type WebhookQueueNames,
} from '@roomcast/delivery';
import { ALL_WEBHOOKS_PATTERN, type WebhookEnvelope } from '@roomcast/contracts';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { RoomOrder } from './room-order';
import { RoomParking } from './room-parking';

export interface WebhookSenderOptions {
  /** The broker's URLs (AMQP_URL as a list). */
  amqpUrls: string[];
  exchange: string;
  /** WEBHOOK_QUEUE: the queue is `<queueBase>.<hash of the URL>`. */
  queueBase: string;
  /** WEBHOOK_SECRET: `whsec_` and the base64 of the key (Standard Webhooks). */
  secret: string;
  timeoutMs: number;
  retryMs: number;
  maxRetryMs: number;
  reorderMs: number;
  prefetch: number;
  /** Attempts before an event goes to the dead-letter queue (WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** How long a parked event waits in the wait queue (WEBHOOK_PARK_MS). */
  parkMs: number;
  /** Events the URL's backlog holds (WEBHOOK_QUEUE_MAX). */
  queueMax: number;
  /** Dead letters kept (WEBHOOK_DEAD_LETTER_MAX). */
  deadLetterMax: number;
  /** Names the broker connection (`<instance>/webhooks`). */
  name?: string;
  /** Counts each POST's outcome. */
  onAttempt?: (result: 'delivered' | 'failed') => void;
  /** Counts each event that went to the dead-letter queue. */
  onDeadLetter?: () => void;
}

/** Failed attempts in a row (no delivery between) after which the receiver is taken as down. */
const DOWN_AFTER = 10;
/**
 * A parked event not back for this long (or ten park periods) is taken as gone: a full backlog
 * pushed it out into the dead letters on its way back.
 */
const STALE_PARKED_MS = 60_000;
/** The longest a new channel parks everything to learn what is parked (see RoomParking). */
const LEARN_MAX_MS = 60_000;
/** A room without events for this long is forgotten by the reorder step. */
const ROOM_IDLE_MS = 60_000;

interface Delivery {
  envelope: WebhookEnvelope;
  msg: ConsumeMessage;
  channel: ConfirmChannel;
  /** Attempts made before this delivery (0 for a new event). */
  attempts: number;
  /** Not to be attempted before (ms since the epoch). */
  notBefore: number;
  lastError?: string;
  /**
   * It came back from the wait queue. It counts as parked until its turn in its room's chain:
   * the chain has events in the order they came back, and a newer one ahead of it must see it.
   */
  returned?: boolean;
}

/**
 * Sends one URL's webhook events from its durable queues on the broker (webhook-queues.ts in
 * amqp-transport): a quorum backlog bound to `webhook.*`, with a single active consumer, so of
 * several presence replicas one sends and the others stand by, and its events survive the loss
 * of a broker node.
 *
 * Each room's events go one at a time, in their order (RoomOrder); rooms go side by side, up to
 * `prefetch` events in flight. An event refused (not a 2xx: a 3xx is a refusal too, never
 * followed) is parked: moved to the wait queue with its attempt count and the time of its next
 * attempt, and the room's newer events are parked behind it (RoomParking), so a failing room
 * holds no delivery slot and holds up no other room. After `maxAttempts` the event goes to the
 * dead-letter queue (an operator lists and replays it through the server API) and the room
 * goes on with its next. An event is acknowledged only once it was delivered, parked or
 * dead-lettered (each confirmed by the broker): a sender that stops or dies leaves it in the
 * queue for the next one: nothing is lost, some may come twice (the `id` tells).
 */
export class WebhookSender {
  private readonly logger: Logger;
  readonly queues: WebhookQueueNames;
  private connection?: AmqpConnectionManager;
  private wrapper?: ChannelWrapper;
  /** The channel consuming now: a delivery of an earlier one is not acknowledged on this one. */
  private channel?: ConfirmChannel;
  private readonly order: RoomOrder<Delivery>;
  readonly parking: RoomParking;
  /** Each room's delivery in progress, the room's next waiting for it. */
  private readonly chains = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private readonly stop = new AbortController();
  private readonly signer: WebhookSigner;
  /** Failed attempts since the last delivery, over all rooms. */
  private failures = 0;
  /** Events waiting for their next attempt in this process rather than parked. */
  private held = 0;

  constructor(
    readonly url: string,
    private readonly options: WebhookSenderOptions,
  ) {
    this.queues = webhookQueues(options.queueBase, url);
    this.signer = new WebhookSigner(options.secret);
    this.logger = new Logger(`WebhookSender ${redactWebhookUrl(url)}`);
    this.order = new RoomOrder(options.reorderMs, Math.max(ROOM_IDLE_MS, options.reorderMs * 10));
    this.parking = new RoomParking(Math.max(STALE_PARKED_MS, options.parkMs * 10));
  }

  /** The backlog's name. */
  get queue(): string {
    return this.queues.main;
  }

  /** The connection's current model, for work on channels of its own (or none while down). */
  get brokerConnection(): ChannelModel | undefined {
    return this.connection?.connection;
  }

  /**
   * Events waiting on the broker for this URL (its backlog and wait queues), or undefined
   * without a connection or an answer about both within `timeoutMs`.
   */
  async backlog(timeoutMs: number): Promise<number | undefined> {
    const connection = this.brokerConnection;
    if (!connection) return undefined;
    const [main, wait] = await queueMessageCounts(
      connection,
      [this.queues.main, this.queues.wait],
      timeoutMs,
    );
    return main === null || wait === null ? undefined : main + wait;
  }

  /** Declares the queues and starts consuming; resolves once the first setup is done. */
  async start(): Promise<void> {
    this.connection = await openConnection({
      urls: this.options.amqpUrls,
      exchange: this.options.exchange,
      name: this.options.name,
    });
    this.wrapper = this.connection.createChannel({
      json: false,
      confirm: true,
      setup: (ch: ConfirmChannel) => this.setup(ch),
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

  private async setup(ch: ConfirmChannel): Promise<void> {
    // What the last channel held goes back to the queue with it and comes again on this one.
    this.order.clear();
    this.channel = ch;
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    ch.on('error', (err: Error) => this.logger.warn(`channel closed: ${err.message}`));
    const { exchange, prefetch } = this.options;
    try {
      await declareWebhookQueues(ch, {
        exchange,
        pattern: ALL_WEBHOOKS_PATTERN,
        base: this.options.queueBase,
        url: this.url,
        maxLength: this.options.queueMax,
        deadLetterMax: this.options.deadLetterMax,
      });
    } catch (err) {
      // Queue arguments are fixed at the first declare: a queue from an earlier version or with
      // another WEBHOOK_QUEUE_MAX or WEBHOOK_DEAD_LETTER_MAX is refused (PRECONDITION_FAILED).
      this.logger.error(
        `cannot declare the webhook queues of ${redactWebhookUrl(this.url)} ` +
          `(${(err as Error).message}); if they exist with other arguments, delete ` +
          `${this.queues.main} and ${this.queues.wait} or set a policy (docs/protocol.md)`,
      );
      throw err;
    }
    // Events an earlier sender (or channel) parked, or held when it went: the backlog has them
    // in the order they last came back, not in their rooms' order, and this process does not
    // know them. Each is parked once (learning their numbers) before any is sent.
    const waiting = (await ch.checkQueue(this.queues.wait)).messageCount;
    const backlog = (await ch.checkQueue(this.queues.main)).messageCount;
    if (waiting + backlog > 0)
      this.parking.learn(
        Date.now(),
        waiting + backlog,
        this.options.parkMs * 2 + 200,
        LEARN_MAX_MS,
      );
    await ch.prefetch(prefetch);
    await ch.consume(this.queues.main, (msg) => this.onMessage(ch, msg), { noAck: false });
  }

  private onMessage(channel: ConfirmChannel, msg: ConsumeMessage | null): void {
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
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const delivery: Delivery = {
      envelope,
      msg,
      channel,
      attempts: numberHeader(headers[WebhookHeader.Attempts]),
      notBefore: numberHeader(headers[WebhookHeader.NotBefore]),
      lastError:
        typeof headers[WebhookHeader.LastError] === 'string'
          ? (headers[WebhookHeader.LastError] as string)
          : undefined,
    };
    if (headers[WebhookHeader.Parked]) {
      // Back from the wait queue: RoomParking, not RoomOrder, puts it in its room's order.
      delivery.returned = true;
      this.enqueue([delivery]);
      return;
    }
    this.enqueue(this.order.push(envelope.room, envelope.seq, delivery, Date.now()));
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

  /**
   * Sends, parks or dead-letters one event, and acknowledges it once that is done; gives up only
   * when its channel is gone (the broker hands it out again).
   */
  private async deliver(d: Delivery): Promise<void> {
    const { room, seq } = d.envelope;
    if (this.channel !== d.channel || this.stop.signal.aborted) return;
    if (d.returned) this.parking.returned(room, seq);
    for (;;) {
      if (this.channel !== d.channel || this.stop.signal.aborted) return;
      if (this.parking.decide(room, seq, d.notBefore, Date.now()) === 'park') {
        if (await this.park(d)) return;
        continue;
      }
      const body = JSON.stringify(d.envelope.event);
      const problem = await this.post(d.envelope.event.id, body);
      this.options.onAttempt?.(problem === undefined ? 'delivered' : 'failed');
      if (problem === undefined) {
        this.failures = 0;
        if (this.channel === d.channel) d.channel.ack(d.msg);
        return;
      }
      d.attempts++;
      d.lastError = problem;
      const last = d.attempts >= this.options.maxAttempts;
      if (this.failures++ % 20 === 0 || last)
        this.logger.warn(
          `${d.envelope.event.type} ${d.envelope.event.id} of room ${room} not delivered ` +
            `(${problem}, attempt ${d.attempts} of ${this.options.maxAttempts}); ` +
            (last ? 'dead-lettered' : 'retrying'),
        );
      if (last) {
        if (await this.deadLetter(d)) return;
        continue;
      }
      const delay = retryDelay(d.attempts, this.options.retryMs, this.options.maxRetryMs);
      d.notBefore = Date.now() + delay;
      if (this.failures >= DOWN_AFTER && this.held < Math.max(1, this.options.prefetch >> 1)) {
        // The receiver looks down (every room fails): parking would only send the whole
        // backlog round the wait queue each period. Waiting here fills the delivery slots and
        // stops the flow instead; half of them stay free for a room that still gets through.
        this.held++;
        await sleep(delay, this.stop.signal).finally(() => this.held--);
        continue;
      }
      if (await this.park(d)) return;
    }
  }

  /**
   * Moves an event to the wait queue (confirmed), then acknowledges it. False when the wait
   * queue refused it (full): the caller tries again after a park period.
   */
  private async park(d: Delivery): Promise<boolean> {
    const { room, seq } = d.envelope;
    // Counted before it is published: with a short park period it can come back before the
    // confirm is handled, and its return must find it counted.
    this.parking.parked(room, seq, Date.now());
    const moved = await this.moveTo(
      d,
      this.queues.wait,
      {
        [WebhookHeader.Parked]: 1,
        [WebhookHeader.Attempts]: d.attempts,
        [WebhookHeader.NotBefore]: d.notBefore,
        ...(d.lastError ? { [WebhookHeader.LastError]: d.lastError } : {}),
      },
      // Every parked event the same TTL: the wait queue expires them in the order they came.
      String(this.options.parkMs),
    );
    if (moved !== 'moved') this.parking.returned(room, seq);
    return moved !== 'refused';
  }

  /** Moves an event whose attempts ran out to the dead-letter queue; false if refused. */
  private async deadLetter(d: Delivery): Promise<boolean> {
    const moved = await this.moveTo(d, this.queues.deadLetters, {
      [WebhookHeader.Queue]: this.queues.main,
      [WebhookHeader.Url]: redactWebhookUrl(this.url),
      [WebhookHeader.Attempts]: d.attempts,
      [WebhookHeader.DeadAt]: Date.now(),
      ...(d.lastError ? { [WebhookHeader.LastError]: d.lastError } : {}),
    });
    if (moved === 'moved') this.options.onDeadLetter?.();
    return moved !== 'refused';
  }

  /**
   * Publishes the event to a queue and, once confirmed, acknowledges it where it came from.
   * `refused`: the queue would not take it (the caller tries again after a park period);
   * `gone`: its channel closed, and the broker hands it out again as it was.
   */
  private async moveTo(
    d: Delivery,
    queue: string,
    headers: Record<string, string | number>,
    expiration?: string,
  ): Promise<'moved' | 'refused' | 'gone'> {
    try {
      await publishConfirmed(d.channel, queue, d.msg.content, {
        contentType: 'application/json',
        headers,
        ...(expiration ? { expiration } : {}),
      });
    } catch (err) {
      if (this.channel !== d.channel) return 'gone';
      this.logger.warn(`could not move an event to ${queue}: ${(err as Error).message}`);
      await sleep(this.options.parkMs, this.stop.signal);
      return 'refused';
    }
    if (this.channel !== d.channel) return 'gone';
    d.channel.ack(d.msg);
    return 'moved';
  }

  /** One attempt: undefined on a 2xx, else what went wrong (a redirect is not followed). */
  private async post(id: string, body: string): Promise<string | undefined> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'roomcast-webhooks',
          // Standard Webhooks: webhook-id, webhook-timestamp (this attempt), webhook-signature.
          ...this.signer.headers(id, body),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stop.signal]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.cause?.code ?? e.name ?? 'error';
    }
  }
}

function numberHeader(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
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
