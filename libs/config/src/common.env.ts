import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { randomBytes } from 'node:crypto';
import { redactUrl } from './redact';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  type ValidationArguments,
} from 'class-validator';

/**
 * An env flag: `true`/`1`/`yes` is true, anything else false (Boolean('false') would be true).
 * Reads the raw value (`obj[key]`): loadConfig's implicit conversion has already turned `value`
 * into Boolean('false'), which is true.
 */
export const ToBoolean = () =>
  Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => {
    const raw = obj[key];
    return typeof raw === 'boolean'
      ? raw
      : ['true', '1', 'yes'].includes(String(raw).toLowerCase());
  });

/** Settings every roomcast process shares. */
export class CommonEnv {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  /**
   * One broker, or the nodes of one RabbitMQ cluster separated by commas
   * (`amqp://u:p@10.0.0.1:5672,amqp://u:p@10.0.0.2:5672`): a service connects to the first and,
   * when that node is lost or does not answer, moves on down the list (round and round).
   * Several independent clusters are separated by semicolons
   * (`amqp://a1:5672,amqp://a2:5672;amqp://b1:5672`): each room's traffic goes over one of them
   * (clusterOf, rendezvous hashing of the room name), so append a new cluster at the end and never
   * reorder or remove one (docs/scaling.md, "Several broker clusters").
   */
  @IsString()
  @ValidateBy({
    name: 'amqpUrls',
    validator: {
      validate: (value: unknown) => amqpUrlProblem(String(value)) === undefined,
      defaultMessage: (args?: ValidationArguments) => amqpUrlProblem(String(args?.value)) ?? '',
    },
  })
  AMQP_URL: string = 'amqp://guest:guest@127.0.0.1:5672';

  /**
   * One Redis, or with REDIS_CLUSTER=true the seed nodes of a Redis Cluster separated by commas
   * (`redis://10.0.0.1:7001,redis://10.0.0.2:7001`): any reachable one is enough to find the rest.
   */
  @IsString()
  @ValidateBy({
    name: 'redisUrls',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        redisUrlProblem(String(value), (args?.object as CommonEnv).REDIS_CLUSTER) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        redisUrlProblem(String(args?.value), (args?.object as CommonEnv).REDIS_CLUSTER) ?? '',
    },
  })
  REDIS_URL: string = 'redis://127.0.0.1:6379';

  /** REDIS_URL names the seed nodes of a Redis Cluster instead of one Redis. */
  @ToBoolean()
  @IsBoolean()
  REDIS_CLUSTER: boolean = false;

  /**
   * Gateways and the publish API (stats) number each accepted message among its room's webhook
   * events and publish its `message.created` event; the presence service sends it to every
   * WEBHOOK_URL. Off by default: each message then costs a second publish.
   */
  @ToBoolean()
  @IsBoolean()
  WEBHOOK_MESSAGES: boolean = false;

  /**
   * Webhook queues' names start with it: each URL's `<WEBHOOK_QUEUE>.<hash of the URL>` (presence)
   * and the dead-letter queue `<WEBHOOK_QUEUE>.dead-letters`, which stats lists and replays.
   */
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,200}$/)
  WEBHOOK_QUEUE: string = 'roomcast.webhooks';

  /**
   * The topic exchange every service publishes to. At most 180 characters: gateway queue names
   * are built from it (`<exchange>.gateway.<instance>`) and AMQP names stop at 255 bytes.
   */
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,180}$/, { message: 'EXCHANGE must match ^[A-Za-z0-9_.:-]{1,180}$' })
  EXCHANGE: string = 'chat_events';

  /** Prefix of every Redis key, so several clusters (or test runs) can share one Redis. */
  @IsString()
  @Matches(/^[A-Za-z0-9_:.-]{1,64}$/)
  REDIS_PREFIX: string = 'roomcast:';

  /** Also a routing-key word, so no dots. */
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'INSTANCE_ID must match ^[A-Za-z0-9_-]{1,64}$' })
  INSTANCE_ID: string = `${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;

  /**
   * Origins allowed for browsers (comma-separated, e.g. `https://chat.example.com`), for HTTP
   * CORS and the WebSocket handshake. Empty: any origin (development only).
   */
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /**
   * Group commit of writes (Redis appends, broker publishes of room traffic): the most entries
   * one Redis pipeline or one broker message carries. A lone write goes at once; under load the
   * writes that waited for the one in flight go together, up to this many.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  BATCH_MAX_ITEMS: number = 64;

  /**
   * How long writes wait for the batch in flight before they go beside it (ms): a slow broker
   * confirm or Redis reply delays what follows by at most this much.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  BATCH_MAX_WAIT_MS: number = 5;

  /**
   * Path of the room rules file (JSON, or YAML when it ends in `.yaml`/`.yml`): settings for the
   * rooms whose names start with a prefix (docs/operations.md, "Room rules"; loadRoomRules).
   * Unset: no rules, every room behaves as the service settings say. Give every service the same
   * file: a mistake in it stops the service at start.
   */
  @IsOptional()
  @IsString()
  ROOM_RULES?: string;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}

/**
 * Settings of the services that append to rooms' logs (the gateways, and the server API's
 * publish): one definition, so every writer applies the same retention.
 */
export class WriterEnv extends CommonEnv {
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

  /** A publish the broker has not confirmed by then fails the write with UNAVAILABLE. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  PUBLISH_TIMEOUT_MS: number = 4000;
}

/** The group commit settings of a service's writes. */
export function batchOptions(config: CommonEnv): { maxItems: number; maxWaitMs: number } {
  return { maxItems: config.BATCH_MAX_ITEMS, maxWaitMs: config.BATCH_MAX_WAIT_MS };
}

/** The URLs of a setting that takes one or several separated by commas, trimmed. */
function urlList(url: string): string[] {
  return url.split(',').map((u) => u.trim());
}

/**
 * The clusters of an AMQP_URL, each as its nodes' URLs (trimmed): `;` separates independent
 * clusters, `,` the nodes of one cluster. One cluster (no `;`) is how most deployments run.
 */
export function amqpClusters(url: string): string[][] {
  return url.split(';').map(urlList);
}

/**
 * The broker URLs of the first cluster of an AMQP_URL (with no `;`, the only one: one URL, or a
 * cluster's nodes separated by commas). With several clusters the first is the home cluster:
 * webhook queues and their dead letters live there only.
 */
export function amqpUrls(url: string): string[] {
  return amqpClusters(url)[0];
}

/**
 * The options of a writer's publishing client (the transport's AmqpTopicClientOptions): the
 * broker (cluster `cluster` of AMQP_URL, the first by default), the exchange, the confirm
 * timeout, and a connection name that says whose it is (and, with several clusters, which one).
 */
export function publisherOptions(
  config: WriterEnv,
  cluster = 0,
): {
  urls: string[];
  name: string;
  exchange: string;
  publishTimeoutMs: number;
} {
  return {
    urls: amqpClusters(config.AMQP_URL)[cluster],
    name: `${config.INSTANCE_ID}/publish${clusterSuffix(config.AMQP_URL, cluster)}`,
    exchange: config.EXCHANGE,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
  };
}

/**
 * What a connection's name gets to say which cluster it reaches: nothing with one cluster (names
 * as they always were), `/cluster-<i>` with several.
 */
export function clusterSuffix(url: string, cluster: number): string {
  return amqpClusters(url).length > 1 ? `/cluster-${cluster}` : '';
}

/** Why AMQP_URL cannot be used, in one line, or undefined. */
export function amqpUrlProblem(url: string): string | undefined {
  const clusters = amqpClusters(url);
  const several = clusters.length > 1;
  const empty = clusters.findIndex((c) => c.length === 1 && c[0] === '');
  if (several && empty >= 0) {
    return (
      `AMQP_URL has an empty cluster (number ${empty + 1} of ${clusters.length}): ` +
      "';' separates clusters, each one or more amqp:// URLs; remove the extra ';'"
    );
  }
  const bad = clusters.flat().filter((u) => !parsesAs(u, /^amqps?:$/));
  if (bad.length > 0) {
    return (
      'AMQP_URL must be an amqp:// or amqps:// URL, or the nodes of one RabbitMQ cluster as such ' +
      "URLs separated by commas (several clusters separated by ';') " +
      `(not: ${bad.map((b) => (b === '' ? '""' : redactOne(b))).join(', ')})`
    );
  }
  // One broker named in two clusters would carry both clusters' rooms and fail with both.
  const seen = new Map<string, number>();
  for (const [i, nodes] of clusters.entries()) {
    for (const node of nodes) {
      const u = new URL(node);
      const where = `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? 5671 : 5672)}${u.pathname || '/'}`;
      const first = seen.get(where);
      if (first !== undefined && first !== i) {
        return (
          `AMQP_URL names the broker ${where} in clusters ${first + 1} and ${i + 1}: ` +
          'a broker belongs to one cluster'
        );
      }
      seen.set(where, i);
    }
  }
  return undefined;
}

/** The URLs of a REDIS_URL: one, or a Redis Cluster's seed nodes separated by commas. */
export const redisUrls = urlList;

/** Why REDIS_URL cannot be used with this REDIS_CLUSTER, in one line, or undefined. */
export function redisUrlProblem(url: string, cluster: boolean): string | undefined {
  const urls = redisUrls(url).map(parseRedisUrl);
  if (urls.some((u) => u === undefined)) {
    return 'REDIS_URL must be a redis:// or rediss:// URL (or, with REDIS_CLUSTER=true, several separated by commas)';
  }
  if (urls.length > 1 && !cluster) {
    return 'REDIS_URL lists several nodes, which only a Redis Cluster takes: set REDIS_CLUSTER=true';
  }
  if (cluster && urls.some((u) => !['', '/', '/0'].includes(u!.pathname))) {
    return 'a Redis Cluster has database 0 only: drop the /<db> from REDIS_URL';
  }
  return undefined;
}

function parseRedisUrl(url: string): URL | undefined {
  return parsesAs(url, /^rediss?:$/);
}

/** `url` parsed, when it is a URL with a host and a protocol matching `protocol`. */
function parsesAs(url: string, protocol: RegExp): URL | undefined {
  try {
    const u = new URL(url);
    return protocol.test(u.protocol) && u.hostname !== '' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** A URL for an error message: the password hidden, and anything unparseable cut short. */
function redactOne(url: string): string {
  if (parsesAs(url, /./)) return redactUrl(url);
  return url.length > 40 || url.includes('@') ? '<unparseable url>' : url;
}

/** The origins allowed by CORS_ORIGINS; undefined means any. */
export function allowedOrigins(config: CommonEnv): string[] | undefined {
  const list = (config.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}
