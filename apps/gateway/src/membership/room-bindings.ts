import type { Counter, Gauge } from 'prom-client';
import type { RoomBinder } from './room-registry';
import type { RoomSequencer } from '../fanout/room-sequencer';
import { RoomTraffic } from '../broker/ports';

/**
 * Binds a room's traffic to this instance and starts ordering it, in the one order that loses
 * nothing: bound first, then the room's current seq read, so every message after that seq
 * reaches us; if the read fails the room is unbound again (the join fails). The bindings gauge
 * follows what is bound.
 */
export class RoomBindings implements RoomBinder {
  constructor(
    private readonly traffic: RoomTraffic,
    private readonly sequencer: RoomSequencer,
    private readonly gauge: Pick<Gauge, 'inc' | 'dec'>,
    /** Bind and unbind operations made (`op`), for the linger's trade-off. */
    private readonly changes?: Pick<Counter<'op'>, 'inc'>,
  ) {}

  async bind(room: string): Promise<void> {
    await this.traffic.bind(room);
    try {
      await this.sequencer.start(room);
    } catch (err) {
      this.sequencer.stop(room);
      await this.traffic.unbind(room).catch(() => undefined);
      throw err;
    }
    this.gauge.inc();
    this.changes?.inc({ op: 'bind' });
  }

  async unbind(room: string): Promise<void> {
    this.sequencer.stop(room);
    await this.traffic.unbind(room);
    this.gauge.dec();
    this.changes?.inc({ op: 'unbind' });
  }
}
