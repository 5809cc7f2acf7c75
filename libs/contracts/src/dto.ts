import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsString,
  IsObject,
  Matches,
  ValidateNested,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  type ValidationOptions,
} from 'class-validator';
import { ROOM_NAME_PATTERN } from './routing';
import { isWellFormedText, textLength } from './text';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

const ROOM_MESSAGE = 'room must match ^[A-Za-z0-9_-]{1,64}$';

/**
 * An optional field: absent (undefined) skips its checks, but `null` does not. class-validator's
 * own IsOptional lets null through, and a null clientId once became every later send's dedupe key.
 */
function Absent(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** A whole number from `min` to `max`: no NaN, no Infinity, one message for every way it fails. */
function IntegerIn(min: number, max: number, range = `from ${min} to ${max}`): PropertyDecorator {
  return (target, key) => {
    const message = `${String(key)} must be an integer ${range}`;
    IsInt({ message })(target, key);
    Min(min, { message })(target, key);
    Max(max, { message })(target, key);
  };
}

/** A seq a client may name: nothing past 2^53, where JSON numbers stop being exact. */
const SeqNumber = () => IntegerIn(0, Number.MAX_SAFE_INTEGER, 'from 0 to 2^53 - 1');

/** A string of `min`-`max` characters (code points, so an emoji counts once), well-formed Unicode. */
function Text(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'text',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          isWellFormedText(value) &&
          textLength(value) >= min &&
          textLength(value) <= max,
        defaultMessage: (args) =>
          `${args?.property} must be ${min}-${max} characters of well-formed Unicode (no lone surrogate)`,
      },
    },
    options,
  );
}

class RoomDto {
  @IsString({ message: ROOM_MESSAGE })
  @Matches(ROOM_NAME_PATTERN, { message: ROOM_MESSAGE })
  room: string;
}

export class JoinRoomDto extends RoomDto {
  @Absent()
  @SeqNumber()
  sinceSeq?: number;
}

export class LeaveRoomDto extends RoomDto {}

/** `next` of a member page: opaque to clients (base64url of the last user id on the page). */
export const MEMBER_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,512}$/;

/** A page of a room's list (members, reactors): `cursor` from the page before, 1-500 a page. */
class RoomPageDto extends RoomDto {
  @Absent()
  @IsString({ message: 'cursor must be the next of an earlier page' })
  @Matches(MEMBER_CURSOR_PATTERN, { message: 'cursor must be the next of an earlier page' })
  cursor?: string;

  @Absent()
  @IntegerIn(1, 500)
  limit?: number;
}

export class MembersDto extends RoomPageDto {}

export class SendMessageDto extends RoomDto {
  @Transform(trim)
  @Text(1, 4000, {
    message: 'text must be 1-4000 characters after trimming, of well-formed Unicode',
  })
  text: string;

  @Absent()
  @Text(1, 64, { message: 'clientId must be a string of 1-64 characters' })
  clientId?: string;
}

export class HistoryDto extends RoomDto {
  @Absent()
  @SeqNumber()
  beforeSeq?: number;

  @Absent()
  @SeqNumber()
  afterSeq?: number;

  @Absent()
  @IntegerIn(1, 100)
  limit?: number;
}

export class TypingDto extends RoomDto {
  @IsBoolean()
  typing: boolean;
}

export class ReadDto extends RoomDto {
  @SeqNumber()
  seq: number;
}

/** A message id as the server makes them (a UUID); anything else cannot name a message. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ID_MESSAGE = 'id must be the id of a message in the room';

class MessageRefDto extends RoomDto {
  @IsString({ message: ID_MESSAGE })
  @Matches(MESSAGE_ID_PATTERN, { message: ID_MESSAGE })
  id: string;

  @Absent()
  @Text(1, 64, { message: 'clientId must be a string of 1-64 characters' })
  clientId?: string;
}

export class EditMessageDto extends MessageRefDto {
  @Transform(trim)
  @Text(1, 4000, {
    message: 'text must be 1-4000 characters after trimming, of well-formed Unicode',
  })
  text: string;
}

export class DeleteMessageDto extends MessageRefDto {}

export class ReactDto extends MessageRefDto {
  @Text(1, 32, { message: 'emoji must be 1-32 characters of well-formed Unicode' })
  emoji: string;

  @IsBoolean({ message: 'on must be a boolean' })
  on: boolean;
}

/** `message:reactors`: one emoji's reactors on a message, a page at a time. */
export class ReactorsDto extends RoomPageDto {
  @IsString({ message: ID_MESSAGE })
  @Matches(MESSAGE_ID_PATTERN, { message: ID_MESSAGE })
  id: string;

  @Text(1, 32, { message: 'emoji must be 1-32 characters of well-formed Unicode' })
  emoji: string;
}

class PublishUserDto {
  @Text(1, 128, { message: 'user.id must be 1-128 characters of well-formed Unicode' })
  id: string;

  @Transform(trim)
  @Text(1, 32, { message: 'user.name must be 1-32 characters after trimming' })
  name: string;
}

/** The server publish API's body (`POST /api/rooms/:room/messages`): the backend is trusted. */
export class PublishMessageDto {
  @Transform(trim)
  @Text(1, 4000, {
    message: 'text must be 1-4000 characters after trimming, of well-formed Unicode',
  })
  text: string;

  // A plain object becomes a PublishUserDto for ValidateNested (@Type would need reflect-metadata,
  // which the contracts do not load).
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? plainToInstance(PublishUserDto, value)
      : value,
  )
  @IsObject({ message: 'user must be { id, name }' })
  @ValidateNested()
  user: PublishUserDto;

  @Absent()
  @Text(1, 64, { message: 'clientId (or Idempotency-Key) must be a string of 1-64 characters' })
  clientId?: string;
}
