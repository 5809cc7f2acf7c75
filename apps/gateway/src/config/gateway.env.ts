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
  PUBLISH_TIMEOUT_MS: number = 5000;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
