import { NoPresenceReplica } from '../broker/ports';
import { PresenceEvent } from '@roomcast/contracts';
import { Registry } from 'prom-client';
import { MemoryPresenceEvents } from '../testing/memory-ports';
import { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { HeartbeatService } from './heartbeat.service';
import type { PresenceLink } from './presence-link';

/** Presence whose queue is not bound for the first `unbound` heartbeats: the broker returns them. */
class LatePresence extends MemoryPresenceEvents {
  unbound = 2;
  readonly beats: number[] = [];

  override async publish<E extends Parameters<MemoryPresenceEvents['publish']>[0]>(
    event: E,
    payload: Parameters<MemoryPresenceEvents['publish']>[1],
  ) {
    if (event === PresenceEvent.Heartbeat) {
      this.beats.push(Date.now());
      if (this.unbound > 0) {
        this.unbound--;
        throw new NoPresenceReplica(`no queue is bound for ${event}`);
      }
    }
    return super.publish(event, payload as never);
  }
}

describe('HeartbeatService', () => {
  it('tries a heartbeat the broker returned again within 250 ms, then every heartbeat', async () => {
    const config = Object.assign(new GatewayEnv(), { INSTANCE_ID: 'g1', HEARTBEAT_MS: 2000 });
    const presence = new LatePresence();
    const link = { startedAt: 0, check: jest.fn(() => Promise.resolve()) };
    const service = new HeartbeatService(
      config,
      presence,
      link as unknown as PresenceLink,
      new GatewayMetrics(new Registry()),
    );
    const started = Date.now();
    service.onApplicationBootstrap();
    try {
      // Returned at 0 and ~250 ms, taken at ~750 ms: long before the next heartbeat at 2 s.
      for (let i = 0; i < 40 && presence.beats.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const at = presence.beats.map((t) => t - started);
      expect(at).toHaveLength(3);
      expect(at[2]).toBeLessThan(1200);
      expect(presence.of(PresenceEvent.Heartbeat)).toHaveLength(1);
      // Taken: no more retries, the next one comes with the interval.
      await new Promise((r) => setTimeout(r, 600));
      expect(presence.beats).toHaveLength(3);
    } finally {
      await service.beforeApplicationShutdown();
    }
  });
});
