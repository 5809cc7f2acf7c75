import type { SchemaObject } from 'ajv';
import {
  AuthRefreshDto,
  DeleteMessageDto,
  EditMessageDto,
  HistoryDto,
  JoinRoomDto,
  LeaveRoomDto,
  MembersDto,
  payloadFields,
  ReactDto,
  ReactorsDto,
  ReadDto,
  SendMessageDto,
  TypingDto,
  type FieldRule,
} from './dto';
import { ClientEvent } from './events';

/** The DTO of each client event that carries fields (`rooms:unread` takes none). */
export const CLIENT_EVENT_DTOS = {
  [ClientEvent.Join]: JoinRoomDto,
  [ClientEvent.Leave]: LeaveRoomDto,
  [ClientEvent.Send]: SendMessageDto,
  [ClientEvent.History]: HistoryDto,
  [ClientEvent.Members]: MembersDto,
  [ClientEvent.Typing]: TypingDto,
  [ClientEvent.Read]: ReadDto,
  [ClientEvent.Edit]: EditMessageDto,
  [ClientEvent.Delete]: DeleteMessageDto,
  [ClientEvent.React]: ReactDto,
  [ClientEvent.Reactors]: ReactorsDto,
  [ClientEvent.AuthRefresh]: AuthRefreshDto,
} as const;
export type DtoEvent = keyof typeof CLIENT_EVENT_DTOS;

/**
 * The keyword that checks a `text` rule: code points (not UTF-16 units, not bytes), well-formed
 * Unicode, counted after trim() when the rule trims. JSON Schema's maxLength counts code points
 * too but knows neither lone surrogates nor trimming, so the rule is one keyword of its own.
 */
export const TEXT_KEYWORD = 'roomcastText';

/** The JSON Schema of one field's rule. */
export function ruleSchema(rule: FieldRule): SchemaObject {
  switch (rule.kind) {
    case 'pattern':
      // ajv builds `new RegExp(source, 'u')`: the same language as the DTO's RegExp when it has
      // no flags of its own (a flag would be lost here, so none is allowed).
      if (rule.pattern.flags !== '') {
        throw new Error(`pattern ${String(rule.pattern)}: flags have no JSON Schema form`);
      }
      return { type: 'string', pattern: rule.pattern.source };
    case 'integer':
      return { type: 'integer', minimum: rule.min, maximum: rule.max };
    case 'boolean':
      return { type: 'boolean' };
    case 'text':
      return { type: 'string', [TEXT_KEYWORD]: { min: rule.min, max: rule.max, trim: rule.trim } };
  }
}

/**
 * The JSON Schema of a payload DTO, derived from the rules its fields are declared with: an object
 * of exactly those fields (any other refused), the ones not optional required.
 */
export function payloadSchema(dto: abstract new () => object): SchemaObject {
  const fields = payloadFields(dto);
  if (fields.length === 0) throw new Error(`${dto.name} declares no field with a rule`);
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map(([key, { rule }]) => [key, ruleSchema(rule)])),
    required: fields.filter(([, { optional }]) => !optional).map(([key]) => key),
    additionalProperties: false,
  };
}
