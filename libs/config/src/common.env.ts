import 'reflect-metadata';
import { Type } from 'class-transformer';
import { randomBytes } from 'node:crypto';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';

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

  /** The topic exchange every service publishes to. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,200}$/)
  EXCHANGE: string = 'chat_events';

  /** Prefix of every Redis key, so several clusters (or test runs) can share one Redis. */
  @IsString()
  @Matches(/^[A-Za-z0-9_:.-]{1,64}$/)
  REDIS_PREFIX: string = 'roomcast:';

  /** Also a routing-key word, so no dots. */
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'INSTANCE_ID must match ^[A-Za-z0-9_-]{1,64}$' })
  INSTANCE_ID: string = `${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}
