import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { PresenceStore } from '@roomcast/store';
import { PRESENCE_CONFIG, PresenceEnv } from '../config/presence.env';
import { PresenceService } from '../state/presence.service';

/**
 * Finds gateways that stopped sending heartbeats and removes their connections, so the Stats API
 * and room members stop showing ghosts. A gateway whose broker connection died is found sooner
 * by QueueWatch; this sweep is the fallback for one that hangs with its connection still open.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly presence: PresenceService,
    @Inject(PRESENCE_CONFIG) private readonly config: PresenceEnv,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => void this.sweepOnce(), this.config.SWEEP_INTERVAL_MS);
  }

  onApplicationShutdown() {
    clearInterval(this.timer);
  }

  async sweepOnce(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const lockMs = Math.max(this.config.SWEEP_INTERVAL_MS - 50, 50);
      if (!(await this.store.tryLockSweep(this.config.INSTANCE_ID, lockMs))) return;
      const stale = await this.store.staleInstances(now - this.config.INSTANCE_TTL_MS);
      for (const id of stale) await this.presence.removeInstance(id, 'no heartbeat');
    } catch (err) {
      this.logger.warn(`sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
