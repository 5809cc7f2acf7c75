export interface AmqpConnectionOptions {
  /**
   * Broker URLs: one broker, or the nodes of one cluster. The first is tried first; when the
   * link is lost or an attempt fails, the next one is (round and round).
   */
  urls: string[];
  /**
   * The connection's name at the broker (`connection_name`, shown by
   * `rabbitmqctl list_connections client_properties`): which process and which role.
   */
  name?: string;
  /** The durable topic exchange to publish to and bind on. */
  exchange: string;
  /**
   * Fail start-up when the broker does not answer within this time.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * AMQP heartbeat, which is also how fast a dead broker link is noticed.
   * @default 5
   */
  heartbeatSeconds?: number;
}

export interface AmqpTopicServerOptions extends AmqpConnectionOptions {
  /**
   * Queue name. An empty name asks the broker for a server-named, exclusive, auto-delete queue
   * that lives exactly as long as this process's connection.
   * @default ''
   */
  queue?: string;
  /**
   * Durability of a named queue (ignored for a server-named or exclusive one).
   * @default true
   */
  durable?: boolean;
  /**
   * A named, shared queue's type. 'quorum' replicates it over the broker cluster's nodes (Raft),
   * so it and its messages survive the loss of a minority of nodes; it is always durable and
   * never exclusive. A queue that already exists with another type is refused by the broker
   * (`QueueTypeMismatchError` at start-up); `replaceQueueOfOtherType` says what to do then.
   * @default 'classic'
   */
  queueType?: 'classic' | 'quorum';
  /**
   * Declare the named queue exclusive, auto-delete and non-durable: it lives exactly as long as
   * this process's connection (the broker deletes it the moment the connection dies, which is
   * how others can tell the process is gone), and a second process declaring the same name is
   * refused with RESOURCE_LOCKED (`QueueInUseError`) instead of sharing it. After a reconnect the
   * same name is declared again. A server-named queue is always exclusive.
   * @default false
   */
  exclusive?: boolean;
  /**
   * Patterns bound for the server's whole life, on top of those added with `bind()`.
   * @default []
   */
  bindings?: string[];
  /**
   * Deliveries in flight before the broker waits for acks (ignored with `noAck`).
   * @default 1
   */
  prefetch?: number;
  /**
   * Consume without acknowledgements: for fan-out traffic that has no value after a crash.
   * @default false
   */
  noAck?: boolean;
}

export interface AmqpTopicClientOptions extends AmqpConnectionOptions {
  /**
   * A publish not confirmed by the broker within this time is rejected, so callers fail fast
   * instead of buffering without bound while the broker is away.
   * @default 5000
   */
  publishTimeoutMs?: number;
  /**
   * A request (`send()`, `request()`) not answered within this time fails.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /**
   * Replace the publishing channel by a fresh one after this many nacks in a row of publishes to
   * one destination (routing keys with the same first word); a second run of nacks with no
   * confirm between reconnects the whole connection. 0 turns this off.
   * @default 3
   */
  reopenAfterNacks?: number;
  /**
   * After a fresh channel and then a fresh connection were both nacked, how long before the
   * next try starts over.
   * @default 30000
   */
  reopenRetryMs?: number;
}

/** How one message is published. */
export interface AmqpPublishOptions {
  /**
   * Published `mandatory`: when no queue is bound to take it the broker returns it and the
   * publish (or request) fails at once with an UnroutableError.
   * @default false
   */
  mandatory?: boolean;
  /**
   * Further routing keys the message is routed by, besides its own (RabbitMQ's sender-selected
   * distribution, the `BCC` header, which the broker strips before delivery). A queue bound to
   * several of the keys still gets one copy.
   */
  bcc?: string[];
}

export interface AmqpQueueProbeOptions extends AmqpConnectionOptions {
  /**
   * A check (or opening its channel) not answered within this time counts as no answer, never
   * as a missing queue.
   * @default 1000
   */
  checkTimeoutMs?: number;
}
