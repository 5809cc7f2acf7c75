import { Type } from 'class-transformer';
import { CommonEnv } from '@roomcast/config';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

export class PresenceEnv extends CommonEnv {
  override PORT: number = 3010;

  /** The durable queue presence replicas share (competing consumers). */
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,200}$/)
  PRESENCE_QUEUE: string = 'roomcast.presence';

  /** A gateway silent for this long is taken as dead and its users are removed. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600000)
  INSTANCE_TTL_MS: number = 10000;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  SWEEP_INTERVAL_MS: number = 1000;

  /** Gateway requests one replica works on at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  PRESENCE_PREFETCH: number = 200;

  /**
   * How often the gateways' exclusive queues are checked: a gateway whose queue the broker has
   * deleted (its connection died: kill -9, crash) is removed at the next check.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  LIVENESS_CHECK_MS: number = 500;
}

export const PRESENCE_CONFIG = Symbol('PRESENCE_CONFIG');
