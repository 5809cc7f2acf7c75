import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { MEMBER_CURSOR_PATTERN, ROOM_NAME_PATTERN } from '@roomcast/contracts';
import { ROUTING_CURSOR_PATTERN } from '@roomcast/store';

const LIMIT = 'limit must be an integer from 1 to 1000';

/**
 * A query parameter written in plain decimal digits becomes its number; anything else stays as it
 * came and fails @IsInt. Number() (what @Type(() => Number) does) would also take "0x10", "1e3",
 * " 10", "+10" and "10.0".
 */
const DecimalDigits = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value,
  );

export class RoomsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 20 })
  @IsOptional()
  @DecimalDigits()
  @IsInt({ message: LIMIT })
  @Min(1, { message: LIMIT })
  @Max(1000, { message: LIMIT })
  limit = 20;
}

/** The `limit` of a paged route: 1-500, default 100. */
class PageLimitDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @DecimalDigits()
  @IsInt({ message: 'limit must be an integer from 1 to 500' })
  @Min(1, { message: 'limit must be an integer from 1 to 500' })
  @Max(500, { message: 'limit must be an integer from 1 to 500' })
  limit = 100;
}

export class RoomPageQueryDto extends PageLimitDto {
  @ApiPropertyOptional({ description: 'the `next` of the page before' })
  @IsOptional()
  @Matches(MEMBER_CURSOR_PATTERN, { message: 'cursor must be the next of an earlier page' })
  cursor?: string;
}

export class RoutingQueryDto extends PageLimitDto {
  @ApiPropertyOptional({ description: 'the `next` of the page before' })
  @IsOptional()
  @Matches(ROUTING_CURSOR_PATTERN, { message: 'cursor must be the next of an earlier page' })
  cursor?: string;
}

export class RoomParamDto {
  @ApiProperty({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
  @Matches(ROOM_NAME_PATTERN, { message: 'room must match ^[A-Za-z0-9_-]{1,64}$' })
  room: string;
}
