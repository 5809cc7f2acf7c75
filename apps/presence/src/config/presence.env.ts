import { Type } from 'class-transformer';
import { amqpUrls, CommonEnv } from '@roomcast/config';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class PresenceEnv extends CommonEnv {
  override PORT: number = 3010;

  /**
   * The quorum queue presence replicas share (competing consumers): replicated over the broker
   * cluster's nodes, so it and the events in it survive the loss of a node.
   */
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

  /**
   * How long a gateway's queue must stay missing before the gateway is removed. On a broker
   * cluster a gateway's queue also goes when the broker node it lives on goes, and the gateway
   * declares it again on another node within about a second; a crashed gateway never does.
   * Default: 0 with one broker URL, 3000 with several (AMQP_URL lists a cluster's nodes).
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60000)
  QUEUE_GONE_GRACE_MS?: number;
}

/** QUEUE_GONE_GRACE_MS, or its default for this AMQP_URL. */
export function queueGoneGraceMs(config: PresenceEnv): number {
  return config.QUEUE_GONE_GRACE_MS ?? (amqpUrls(config.AMQP_URL).length > 1 ? 3000 : 0);
}

export const PRESENCE_CONFIG = Symbol('PRESENCE_CONFIG');
