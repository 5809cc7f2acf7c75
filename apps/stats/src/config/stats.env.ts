import { CommonEnv } from '@roomcast/config';
import { IsOptional, IsString, MinLength } from 'class-validator';

export class StatsEnv extends CommonEnv {
  override PORT: number = 3000;

  /**
   * When set, every route but /health needs `Authorization: Bearer <STATS_TOKEN>`, and private
   * rooms are included in the answers. Unset: the API is open and private rooms are left out.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'STATS_TOKEN must be at least 16 characters' })
  STATS_TOKEN?: string;
}

export const STATS_CONFIG = Symbol('STATS_CONFIG');
