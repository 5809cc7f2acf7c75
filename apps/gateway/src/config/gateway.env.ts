import { Type } from 'class-transformer';
import { CommonEnv } from '@roomcast/config';
import { IsIn, IsInt, Max, Min } from 'class-validator';

export class GatewayEnv extends CommonEnv {
  override PORT: number = 3001;

  /** `open`: the handshake's `name` is the identity (development). JWT mode is not built yet. */
  @IsIn(['open'], { message: 'AUTH_MODE must be "open" (jwt mode is not available yet)' })
  AUTH_MODE = 'open' as const;

  /** Messages kept per room for history and recovery. */
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(100000)
  HISTORY_MAX: number = 1000;

  /** Messages older than this leave the history (ms; default 24 h). */
  @Type(() => Number)
  @IsInt()
  @Min(60000)
  HISTORY_MAX_AGE_MS: number = 24 * 3600 * 1000;

  /** How long a gap in a room's seq may stay open before it is filled from history (ms). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(10000)
  GAP_FILL_MS: number = 250;

  /** How often this instance tells presence it is alive. */
  @Type(() => Number)
  @IsInt()
  @Min(200)
  @Max(60000)
  HEARTBEAT_MS: number = 2000;

  /** A publish the broker has not confirmed by then fails the send with UNAVAILABLE. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  PUBLISH_TIMEOUT_MS: number = 4000;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
