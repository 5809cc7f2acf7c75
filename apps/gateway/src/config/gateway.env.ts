import { Type } from 'class-transformer';
import { amqpClusters, WriterEnv, ToBoolean } from '@roomcast/config';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

export class GatewayEnv extends WriterEnv {
  override PORT: number = 3001;

  /** `open`: the handshake's `name` is the identity (development); `jwt`: an HS256 token. */
  @IsIn(['open', 'jwt'], { message: 'AUTH_MODE must be "open" or "jwt"' })
  AUTH_MODE: 'open' | 'jwt' = 'open';

  /** The HS256 secret of JWT mode: at least 32 bytes. */
  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  /** `message:send` per connection: sustained rate per second... */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_SEC: number = 20;

  /** ...and the burst on top of it that a connection may spend at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_BURST: number = 40;

  /** Every client event per connection (joins, leaves, reads, sends, typing): sustained rate... */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_EVENTS_PER_SEC: number = 50;

  /** ...and the burst on top of it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_EVENTS_BURST: number = 100;

  /** `rooms:unread` per connection in any 10 s (each call reads up to 200 rooms' cursors). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_UNREAD_PER_10S: number = 10;

  /**
   * A connection whose unsent output passes this many bytes (a client that does not read) is
   * disconnected instead of buffered without limit.
   */
  @Type(() => Number)
  @IsInt()
  @Min(65536)
  MAX_BUFFERED_BYTES: number = 4 * 1024 * 1024;

  /** Open connections per client address on one gateway. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_CONNECTIONS_PER_IP: number = 100;

  /** Rooms one connection may be in at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_ROOMS_PER_CONNECTION: number = 100;

  /** `typing` per connection and room: at most one per this interval (ms). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  TYPING_MIN_INTERVAL_MS: number = 300;

  /**
   * Behind exactly one trusted proxy (the shipped nginx), count connections per the address that
   * proxy saw: the rightmost X-Forwarded-For entry, the one nginx appends
   * (`$proxy_add_x_forwarded_for`); entries left of it are the client's and may be forged. Without
   * that entry (or if it is not an IP address), the socket's address. Set it only when every client
   * comes through the proxy: a client that reaches the gateway directly writes the entry itself.
   */
  @ToBoolean()
  @IsBoolean()
  TRUST_PROXY: boolean = false;

  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** In production, open auth is refused unless this says it is meant. */
  @ToBoolean()
  @IsBoolean()
  ALLOW_OPEN_AUTH_IN_PRODUCTION: boolean = false;

  /** In production, the broker's guest:guest account is refused unless this says it is meant. */
  @ToBoolean()
  @IsBoolean()
  ALLOW_GUEST_BROKER_IN_PRODUCTION: boolean = false;

  /**
   * How long a room stays bound after its last local member left (ms; 0: unbound at once). A
   * member back within it (a reconnect, a tab switch) costs no broker operation; the room's
   * traffic meanwhile is unused work (docs/scaling.md, Lingering bindings).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600000)
  UNBIND_LINGER_MS: number = 5000;

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

  /** A join, leave, connect or disconnect not applied by presence within this time fails. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  PRESENCE_TIMEOUT_MS: number = 5000;

  /** A sync (every local socket, after a broker outage or a lost change) gets this long. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600000)
  PRESENCE_SYNC_TIMEOUT_MS: number = 60000;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/**
 * Settings that are valid one by one but unsafe together: returns the reason to refuse to start,
 * in one line, or undefined.
 */
export function unsafeConfig(config: GatewayEnv): string | undefined {
  if (config.AUTH_MODE === 'jwt' && Buffer.byteLength(config.JWT_SECRET ?? '') < 32) {
    return 'AUTH_MODE=jwt needs a JWT_SECRET of at least 32 bytes';
  }
  if (config.NODE_ENV === 'production') {
    if (config.AUTH_MODE === 'open' && !config.ALLOW_OPEN_AUTH_IN_PRODUCTION) {
      return 'NODE_ENV=production refuses AUTH_MODE=open (anyone can claim any name); use AUTH_MODE=jwt or set ALLOW_OPEN_AUTH_IN_PRODUCTION=true';
    }
    const guest = amqpClusters(config.AMQP_URL)
      .flat()
      .some((url) => {
        const broker = new URL(url);
        return (
          decodeURIComponent(broker.username || 'guest') === 'guest' &&
          decodeURIComponent(broker.password || 'guest') === 'guest'
        );
      });
    if (guest && !config.ALLOW_GUEST_BROKER_IN_PRODUCTION) {
      return 'NODE_ENV=production refuses the broker account guest:guest; set AMQP_URL credentials or ALLOW_GUEST_BROKER_IN_PRODUCTION=true';
    }
  }
  return undefined;
}
