import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ROOM_NAME_PATTERN } from '@roomcast/contracts';

export class RoomsQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer from 1 to 1000' })
  @Min(1, { message: 'limit must be an integer from 1 to 1000' })
  @Max(1000, { message: 'limit must be an integer from 1 to 1000' })
  limit = 20;
}

export class RoomParamDto {
  @Matches(ROOM_NAME_PATTERN, { message: 'room must match ^[A-Za-z0-9_-]{1,64}$' })
  room: string;
}
