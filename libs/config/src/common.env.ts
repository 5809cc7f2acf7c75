import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { randomBytes } from 'node:crypto';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

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

  @IsString()
  @Matches(/^amqps?:\/\//, { message: 'AMQP_URL must start with amqp:// or amqps://' })
  AMQP_URL: string = 'amqp://guest:guest@127.0.0.1:5672';

  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must start with redis:// or rediss://' })
  REDIS_URL: string = 'redis://127.0.0.1:6379';

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

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}

/** The origins allowed by CORS_ORIGINS; undefined means any. */
export function allowedOrigins(config: CommonEnv): string[] | undefined {
  const list = (config.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}
