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

/**
 * What one field of a client payload may hold. Each DTO field below is declared with one rule,
 * and both validators are built from it: the class-validator decorators (validatePayload, the
 * reference) and the JSON Schema that ajv compiles for the gateway's hot path (schemas.ts).
 * `message` is the whole error text for any way the field fails, absent included.
 */
export type FieldRule =
  /** A string the pattern matches (room names, ids, cursors). */
  | { kind: 'pattern'; pattern: RegExp; message: string }
  /** A whole number from `min` to `max`: no NaN, no Infinity. */
  | { kind: 'integer'; min: number; max: number; message: string }
  /** true or false; no message: class-validator's own ("<field> must be a boolean value"). */
  | { kind: 'boolean'; message?: string }
  /** `min`-`max` code points of well-formed Unicode, counted after trim() when `trim`. */
  | { kind: 'text'; min: number; max: number; trim: boolean; message: string };

/** A declared field: its rule, and whether it may be absent (undefined; never null). */
export interface FieldSpec {
  readonly rule: FieldRule;
  readonly optional: boolean;
}

/** The fields each class declares itself, in declaration order. */
const declaredFields = new Map<object, [string, FieldSpec][]>();

/**
 * Every field of a payload DTO, in the order class-validator reports them: the class's own fields,
 * then those of its ancestors, base first (the order their classes were defined in). Empty for a
 * class with no field declared by `Field` (such as PublishMessageDto).
 */
export function payloadFields(dto: abstract new () => object): readonly [string, FieldSpec][] {
  const chain: object[] = [];
  let c: object | null = dto;
  while (c !== null && c !== Function.prototype) {
    chain.push(c);
    c = Object.getPrototypeOf(c) as object | null;
  }
  const [own, ...ancestors] = chain;
  return [own, ...ancestors.reverse()].flatMap((c) => declaredFields.get(c) ?? []);
}

/** A field checked by `rule`; `optional` lets it be absent (undefined skips its checks, null does not). */
function Field(rule: FieldRule, optional = false): PropertyDecorator {
  return (target, key) => {
    const name = String(key);
    if (rule.message !== undefined && !rule.message.startsWith(`${name} `)) {
      throw new Error(`the message of ${name} names another field: ${rule.message}`);
    }
    const own = declaredFields.get(target.constructor) ?? [];
    own.push([name, { rule, optional }]);
    declaredFields.set(target.constructor, own);
    if (optional) Absent()(target, key);
    switch (rule.kind) {
      case 'pattern':
        IsString({ message: rule.message })(target, key);
        Matches(rule.pattern, { message: rule.message })(target, key);
        break;
      case 'integer':
        IsInt({ message: rule.message })(target, key);
        Min(rule.min, { message: rule.message })(target, key);
        Max(rule.max, { message: rule.message })(target, key);
        break;
      case 'boolean':
        IsBoolean(rule.message === undefined ? undefined : { message: rule.message })(target, key);
        break;
      case 'text':
        if (rule.trim) Transform(trim)(target, key);
        Text(rule.min, rule.max, { message: rule.message })(target, key);
        break;
    }
  };
}

/**
 * An optional field: absent (undefined) skips its checks, but `null` does not. class-validator's
 * own IsOptional lets null through, and a null clientId once became every later send's dedupe key.
 */
function Absent(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** A whole number from `min` to `max`, with one message for every way it fails. */
function integerIn(
  key: string,
  min: number,
  max: number,
  range = `from ${min} to ${max}`,
): FieldRule {
  return { kind: 'integer', min, max, message: `${key} must be an integer ${range}` };
}

/** A seq a client may name: nothing past 2^53, where JSON numbers stop being exact. */
const seqNumber = (key: string) => integerIn(key, 0, Number.MAX_SAFE_INTEGER, 'from 0 to 2^53 - 1');

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

const ROOM: FieldRule = {
  kind: 'pattern',
  pattern: ROOM_NAME_PATTERN,
  message: 'room must match ^[A-Za-z0-9_-]{1,64}$',
};

/** The longest message text, in code points after trimming (PROTOCOL.md). */
export const MAX_TEXT_LENGTH = 4000;

const MESSAGE_TEXT: FieldRule = {
  kind: 'text',
  min: 1,
  max: MAX_TEXT_LENGTH,
  trim: true,
  message: 'text must be 1-4000 characters after trimming, of well-formed Unicode',
};

const CLIENT_ID: FieldRule = {
  kind: 'text',
  min: 1,
  max: 64,
  trim: false,
  message: 'clientId must be a string of 1-64 characters',
};

const EMOJI: FieldRule = {
  kind: 'text',
  min: 1,
  max: 32,
  trim: false,
  message: 'emoji must be 1-32 characters of well-formed Unicode',
};

/** `auth:refresh`: a newer token for the connection's user (JWT mode). */
export class AuthRefreshDto {
  @Field({
    kind: 'text',
    min: 1,
    max: 8192,
    trim: false,
    message: 'token must be a string of 1-8192 characters',
  })
  token: string;
}

class RoomDto {
  @Field(ROOM)
  room: string;
}

export class JoinRoomDto extends RoomDto {
  @Field(seqNumber('sinceSeq'), true)
  sinceSeq?: number;
}

export class LeaveRoomDto extends RoomDto {}

/** `next` of a member page: opaque to clients (base64url of the last user id on the page). */
export const MEMBER_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,512}$/;

/** A page of a room's list (members, reactors): `cursor` from the page before, 1-500 a page. */
class RoomPageDto extends RoomDto {
  @Field(
    {
      kind: 'pattern',
      pattern: MEMBER_CURSOR_PATTERN,
      message: 'cursor must be the next of an earlier page',
    },
    true,
  )
  cursor?: string;

  @Field(integerIn('limit', 1, 500), true)
  limit?: number;
}

export class MembersDto extends RoomPageDto {}

export class SendMessageDto extends RoomDto {
  @Field(MESSAGE_TEXT)
  text: string;

  @Field(CLIENT_ID, true)
  clientId?: string;
}

export class HistoryDto extends RoomDto {
  @Field(seqNumber('beforeSeq'), true)
  beforeSeq?: number;

  @Field(seqNumber('afterSeq'), true)
  afterSeq?: number;

  @Field(integerIn('limit', 1, 100), true)
  limit?: number;
}

export class TypingDto extends RoomDto {
  @Field({ kind: 'boolean' })
  typing: boolean;
}

export class ReadDto extends RoomDto {
  @Field(seqNumber('seq'))
  seq: number;
}

/** A message id as the server makes them (a UUID); anything else cannot name a message. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MESSAGE_ID: FieldRule = {
  kind: 'pattern',
  pattern: MESSAGE_ID_PATTERN,
  message: 'id must be the id of a message in the room',
};

class MessageRefDto extends RoomDto {
  @Field(MESSAGE_ID)
  id: string;

  @Field(CLIENT_ID, true)
  clientId?: string;
}

export class EditMessageDto extends MessageRefDto {
  @Field(MESSAGE_TEXT)
  text: string;
}

export class DeleteMessageDto extends MessageRefDto {}

export class ReactDto extends MessageRefDto {
  @Field(EMOJI)
  emoji: string;

  @Field({ kind: 'boolean', message: 'on must be a boolean' })
  on: boolean;
}

/** `message:reactors`: one emoji's reactors on a message, a page at a time. */
export class ReactorsDto extends RoomPageDto {
  @Field(MESSAGE_ID)
  id: string;

  @Field(EMOJI)
  emoji: string;
}

class PublishUserDto {
  @Text(1, 128, { message: 'user.id must be 1-128 characters of well-formed Unicode' })
  id: string;

  @Transform(trim)
  @Text(1, 32, { message: 'user.name must be 1-32 characters after trimming' })
  name: string;
}

/**
 * The server API's `{ user, clientId? }`: the user a trusted backend acts as, and the
 * Idempotency-Key header as clientId. A moderator's deletion's body
 * (`DELETE /api/rooms/:room/messages/:id`): its user is shown as the update's.
 */
export class ModeratorDeleteDto {
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

/** The server publish API's body (`POST /api/rooms/:room/messages`): the backend is trusted. */
export class PublishMessageDto extends ModeratorDeleteDto {
  @Transform(trim)
  @Text(1, 4000, {
    message: 'text must be 1-4000 characters after trimming, of well-formed Unicode',
  })
  text: string;
}
