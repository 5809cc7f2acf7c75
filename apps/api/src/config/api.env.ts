import { ToBoolean, WriterEnv } from '@roomcast/config';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';

export class ApiEnv extends WriterEnv {
  override PORT: number = 3000;

  /**
   * When set, every route but /health needs `Authorization: Bearer <STATS_TOKEN>`, and private
   * rooms are included in the answers. Unset: the API is open and private rooms are left out.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'STATS_TOKEN must be at least 16 characters' })
  STATS_TOKEN?: string;

  /**
   * When set, `POST /api/rooms/:room/messages` (the server publish API) is served and needs
   * `Authorization: Bearer <API_TOKEN>`; unset, the route does not exist.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'API_TOKEN must be at least 16 characters' })
  API_TOKEN?: string;

  /**
   * Failed sign-ins (a wrong STATS_TOKEN or API_TOKEN) one client address may make within
   * SIGNIN_WINDOW_MS of its first; past them its requests with credentials answer 429 with
   * Retry-After until the window ends (SignInThrottle).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  SIGNIN_MAX_FAILURES: number = 10;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(24 * 3600 * 1000)
  SIGNIN_WINDOW_MS: number = 60000;

  /**
   * Behind exactly one trusted proxy (the shipped nginx), the client address of the sign-in
   * throttle is the rightmost X-Forwarded-For entry, the one nginx appends; set it only when
   * every client comes through the proxy (as the gateway's TRUST_PROXY).
   */
  @ToBoolean()
  @IsBoolean()
  TRUST_PROXY: boolean = false;
}

export const API_CONFIG = Symbol('API_CONFIG');

/**
 * Private rooms show only to callers who had to present STATS_TOKEN: with it unset, the Stats API
 * and the operations page leave them out.
 */
export const showsPrivateRooms = (config: ApiEnv): boolean => Boolean(config.STATS_TOKEN);
/** Injects showsPrivateRooms(config): whether answers include private rooms. */
export const SHOWS_PRIVATE_ROOMS = Symbol('SHOWS_PRIVATE_ROOMS');
