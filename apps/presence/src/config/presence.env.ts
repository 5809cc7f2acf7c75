import { Type } from 'class-transformer';
import { amqpClusters, CommonEnv } from '@roomcast/config';
import { webhookSecretProblem } from '@roomcast/delivery';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';

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
   * Default: 0 with one broker URL per cluster, 3000 when a cluster of AMQP_URL lists several
   * nodes.
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60000)
  QUEUE_GONE_GRACE_MS?: number;

  /**
   * Where webhook events go: one http(s) URL, or several separated by commas, each with a durable
   * queue of its own on the broker. Unset: no webhooks.
   */
  @IsOptional()
  @IsString()
  @ValidateBy({
    name: 'webhookUrls',
    validator: {
      validate: (value: unknown) => webhookUrlProblem(String(value)) === undefined,
      defaultMessage: (args?: ValidationArguments) => webhookUrlProblem(String(args?.value)) ?? '',
    },
  })
  WEBHOOK_URL?: string;

  /**
   * The signing secret of the Standard Webhooks headers, `whsec_` and the base64 of 24-64 random
   * bytes; required with WEBHOOK_URL.
   */
  @ValidateIf((env: PresenceEnv) => Boolean(env.WEBHOOK_URL))
  @IsString({ message: 'WEBHOOK_SECRET must be set when WEBHOOK_URL is' })
  @ValidateBy({
    name: 'webhookSecret',
    validator: {
      validate: (value: unknown) => webhookSecretProblem(String(value)) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        webhookSecretProblem(String(args?.value)) ?? '',
    },
  })
  WEBHOOK_SECRET?: string;

  /** How long a receiver has to answer one POST. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120000)
  WEBHOOK_TIMEOUT_MS: number = 5000;

  /** The wait before the first retry; each next one doubles, up to WEBHOOK_MAX_RETRY_MS. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(600000)
  WEBHOOK_RETRY_MS: number = 500;

  /** The longest wait between retries: a receiver back after an outage gets events this soon. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(3600000)
  WEBHOOK_MAX_RETRY_MS: number = 30000;

  /**
   * How long an event waits for an earlier one of its room that has not arrived yet (published
   * by another process a moment later) before it is sent without it.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60000)
  WEBHOOK_REORDER_MS: number = 1000;

  /** Events in flight per URL (rooms are sent side by side, each room's in order). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  WEBHOOK_PREFETCH: number = 100;

  /**
   * Attempts an event gets before it goes to the dead-letter queue (`<WEBHOOK_QUEUE>.dead-letters`),
   * which an operator lists and replays through the server API. With the default backoff, 50
   * attempts span about 20 minutes.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  WEBHOOK_MAX_ATTEMPTS: number = 50;

  /**
   * How long a parked event (one refused, or one behind a refused one of its room) waits in the
   * wait queue before it comes back; the shortest time between two attempts of an event. Each
   * parked event costs one broker round trip per period.
   */
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(600000)
  WEBHOOK_PARK_MS: number = 2000;

  /**
   * Events each URL's backlog holds. Past it the oldest is pushed out into the dead-letter queue
   * (drop-head): a receiver that is down never blocks or fails a chat publish. Fixed when the
   * queue is first declared (a policy can lower it; see docs/webhooks.md).
   */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(10000000)
  WEBHOOK_QUEUE_MAX: number = 100000;

  /** Dead letters kept (over every URL); past it the oldest are dropped for good. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(10000000)
  WEBHOOK_DEAD_LETTER_MAX: number = 100000;
}

/** WEBHOOK_URL as a list (empty: no webhooks). */
export function webhookUrls(config: PresenceEnv): string[] {
  return (config.WEBHOOK_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

/** What is wrong with a WEBHOOK_URL value, if anything. */
export function webhookUrlProblem(value: string): string | undefined {
  const urls = value.split(',').map((u) => u.trim());
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `WEBHOOK_URL must be http(s) URLs separated by commas; not a URL: ${JSON.stringify(u)}`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `WEBHOOK_URL must be http(s) URLs; ${url.protocol} is not`;
  }
  if (new Set(urls).size !== urls.length) return 'WEBHOOK_URL names the same URL twice';
  return undefined;
}

/** QUEUE_GONE_GRACE_MS, or its default for this AMQP_URL. */
export function queueGoneGraceMs(config: PresenceEnv): number {
  return (
    config.QUEUE_GONE_GRACE_MS ??
    (amqpClusters(config.AMQP_URL).some((nodes) => nodes.length > 1) ? 3000 : 0)
  );
}

export const PRESENCE_CONFIG = Symbol('PRESENCE_CONFIG');
