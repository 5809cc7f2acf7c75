import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** What one presence replica applies. */
@Injectable()
export class PresenceMetrics {
  /** Gateway requests and events applied, by routing key (`presence.join`...). */
  readonly applied: Counter<'event'>;

  constructor(registry: Registry) {
    this.applied = new Counter({
      name: 'roomcast_presence_applied_total',
      help: 'Gateway requests and events this presence replica applied, by event',
      labelNames: ['event'],
      registers: [registry],
    });
  }
}
