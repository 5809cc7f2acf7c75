import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway metrics named in PROTOCOL.md ("Metrics"). */
@Injectable()
export class GatewayMetrics {
  readonly connections: Gauge;
  readonly accepted: Counter;
  readonly deliveries: Counter;
  readonly unusedDeliveries: Counter;
  readonly entries: Counter;
  readonly unusedEntries: Counter;
  readonly publishedMessages: Counter;
  readonly publishedEntries: Counter;
  readonly bindings: Gauge;
  readonly bindingChanges: Counter<'op'>;
  readonly deliveryLatency: Histogram;
  readonly duplicatesDropped: Counter;
  readonly gapFills: Counter;
  readonly slowConsumers: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connections = new Gauge({
      name: 'roomcast_connections',
      help: 'Open Socket.IO connections',
      registers,
    });
    this.accepted = new Counter({
      name: 'roomcast_messages_accepted_total',
      help: 'message:send calls acked ok',
      registers,
    });
    this.deliveries = new Counter({
      name: 'roomcast_broker_deliveries_total',
      help: 'Room messages this instance received from the broker',
      registers,
    });
    this.unusedDeliveries = new Counter({
      name: 'roomcast_broker_deliveries_unused_total',
      help: 'Broker deliveries with no entry for a room with a local member (wasted work)',
      registers,
    });
    this.entries = new Counter({
      name: 'roomcast_broker_entries_total',
      help: 'Room entries (messages, updates, notices) in the broker deliveries this instance received',
      registers,
    });
    this.unusedEntries = new Counter({
      name: 'roomcast_broker_entries_unused_total',
      help: 'Received room entries of rooms with no local member (a batch shared with hosted rooms)',
      registers,
    });
    this.publishedMessages = new Counter({
      name: 'roomcast_broker_room_messages_published_total',
      help: 'Broker messages this instance published on room keys (each a group commit of entries)',
      registers,
    });
    this.publishedEntries = new Counter({
      name: 'roomcast_broker_room_entries_published_total',
      help: 'Room entries in the broker messages this instance published',
      registers,
    });
    this.bindings = new Gauge({
      name: 'roomcast_room_bindings',
      help: "Rooms this instance's queue is bound to",
      registers,
    });
    this.bindingChanges = new Counter({
      name: 'roomcast_room_binding_changes_total',
      help: 'Room bindings this instance made (op="bind") and removed (op="unbind") on the broker',
      labelNames: ['op'],
      registers,
    });
    // Both series from the start, at 0.
    for (const op of ['bind', 'unbind']) this.bindingChanges.inc({ op }, 0);
    this.duplicatesDropped = new Counter({
      name: 'roomcast_duplicates_dropped_total',
      help: 'Room messages dropped because their seq was already delivered here',
      registers,
    });
    this.gapFills = new Counter({
      name: 'roomcast_gap_fill_messages_total',
      help: 'Messages read from history to fill a gap in a room seq',
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'roomcast_slow_consumers_disconnected_total',
      help: 'Connections dropped because they left more than MAX_BUFFERED_BYTES unread',
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'roomcast_delivery_latency_seconds',
      help: 'From acceptance (message ts) to local emit',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }
}
