import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ROOM_NAME_PATTERN } from './routing';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const ROOM_MESSAGE = 'room must match ^[A-Za-z0-9_-]{1,64}$';

class RoomDto {
  @IsString({ message: ROOM_MESSAGE })
  @Matches(ROOM_NAME_PATTERN, { message: ROOM_MESSAGE })
  room: string;
}

export class JoinRoomDto extends RoomDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  sinceSeq?: number;
}

export class LeaveRoomDto extends RoomDto {}

export class MembersDto extends RoomDto {}

export class SendMessageDto extends RoomDto {
  @Transform(trim)
  @IsString()
  @Length(1, 4000, { message: 'text must be 1-4000 characters after trimming' })
  text: string;

  @IsOptional()
  @IsString()
  @Length(1, 64, { message: 'clientId must be 1-64 characters' })
  clientId?: string;
}

export class HistoryDto extends RoomDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  beforeSeq?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  afterSeq?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class TypingDto extends RoomDto {
  @IsBoolean()
  typing: boolean;
}
