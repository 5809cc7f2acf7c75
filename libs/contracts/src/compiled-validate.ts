import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { payloadFields, type FieldSpec } from './dto';
import { ChatError, ErrorCode } from './errors';
import { CLIENT_EVENT_DTOS, payloadSchema, TEXT_KEYWORD, type DtoEvent } from './schemas';
import { isWellFormedText, textLength } from './text';
import { checkPayloadShape } from './validate';

/** A compiled payload validator: the DTO instance validatePayload would give, or its error. */
export type PayloadValidator<T> = (payload: unknown) => T;

export type EventValidators = {
  readonly [E in DtoEvent]: PayloadValidator<InstanceType<(typeof CLIENT_EVENT_DTOS)[E]>>;
};

interface TextRule {
  min: number;
  max: number;
  trim: boolean;
}

/** True when `s` is `min`-`max` code points; counts them only when UTF-16 units cannot tell. */
function codePointsWithin(s: string, min: number, max: number): boolean {
  // Code points are at most the units and at least half of them.
  if (s.length <= max && s.length >= 2 * min) return true;
  const n = textLength(s);
  return n >= min && n <= max;
}

/**
 * One ajv for every payload schema. allErrors, so a refusal names every field that is wrong (as
 * class-validator does); ownProperties, so only a payload's own keys count (as in class-transformer,
 * which copies own keys only).
 */
function payloadAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, ownProperties: true, strict: true });
  ajv.addKeyword({
    keyword: TEXT_KEYWORD,
    type: 'string',
    schemaType: 'object',
    metaSchema: {
      type: 'object',
      properties: {
        min: { type: 'integer', minimum: 0 },
        max: { type: 'integer', minimum: 0 },
        trim: { type: 'boolean' },
      },
      required: ['min', 'max', 'trim'],
      additionalProperties: false,
    },
    errors: false,
    validate: (rule: TextRule, data: string) => {
      const s = rule.trim ? data.trim() : data;
      return codePointsWithin(s, rule.min, rule.max) && isWellFormedText(s);
    },
  });
  return ajv;
}

/** A field's whole error message, for any way it fails. */
function messageOf(key: string, spec: FieldSpec): string {
  return spec.rule.message ?? `${key} must be a boolean value`; // class-validator's IsBoolean text
}

/**
 * Compiles the validator of one payload DTO from the JSON Schema of its field rules. It accepts and
 * refuses what validatePayload(dto, ·) does, with the same error code and messages: the shape
 * checks first (validatePayload's own), then "property <key> should not exist" for each unknown
 * key in key order, then each failing field's message in class-validator's field order, joined by
 * "; ". An accepted payload becomes a `dto` instance holding its fields, text trimmed where the rule
 * says so. The payload itself is never changed.
 */
export function compilePayloadValidator<T extends object>(
  dto: new () => T,
  ajv: Ajv = payloadAjv(),
): PayloadValidator<T> {
  const fields = payloadFields(dto);
  const validate: ValidateFunction = ajv.compile(payloadSchema(dto));
  const specs = new Map(fields);
  const keys = fields.map(([key]) => key);
  const trims = fields.map(([, { rule }]) => rule.kind === 'text' && rule.trim);

  const refusal = (payload: Record<string, unknown>, errors: ErrorObject[]): ChatError => {
    const failing = new Set<string>();
    for (const e of errors) {
      if (e.keyword === 'required')
        failing.add((e.params as { missingProperty: string }).missingProperty);
      else if (e.keyword !== 'additionalProperties') failing.add(e.instancePath.split('/')[1]);
    }
    const messages = Object.keys(payload)
      .filter((key) => !specs.has(key))
      .map((key) => `property ${key} should not exist`);
    for (const [key, spec] of fields) if (failing.has(key)) messages.push(messageOf(key, spec));
    return new ChatError(ErrorCode.InvalidPayload, messages.join('; '));
  };

  return (payload: unknown): T => {
    checkPayloadShape(payload);
    let valid: boolean;
    try {
      valid = validate(payload) as boolean;
    } catch {
      throw new ChatError(ErrorCode.InvalidPayload, 'payload could not be read');
    }
    if (!valid) throw refusal(payload, validate.errors ?? []);
    const instance = new dto() as Record<string, unknown>;
    for (let i = 0; i < keys.length; i++) {
      const value = payload[keys[i]];
      if (value === undefined || !Object.hasOwn(payload, keys[i])) continue;
      instance[keys[i]] = trims[i] ? (value as string).trim() : value;
    }
    return instance as T;
  };
}

/**
 * The compiled validator of every client event that carries fields, keyed by event name. Compiling
 * takes milliseconds: do it once, at start-up, and keep the result.
 */
export function compileEventValidators(): EventValidators {
  const ajv = payloadAjv();
  return Object.fromEntries(
    Object.entries(CLIENT_EVENT_DTOS).map(([event, dto]) => [
      event,
      compilePayloadValidator(dto as new () => object, ajv),
    ]),
  ) as unknown as EventValidators;
}
