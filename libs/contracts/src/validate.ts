import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ChatError, ErrorCode } from './errors';

type Constructor<T> = new () => T;

/**
 * Keys that name something every object inherits (`__proto__`, `constructor`, `hasOwnProperty`,
 * `isPrototypeOf`...): class-transformer and the whitelist check look them up through the
 * prototype and let them pass unseen, so they are refused here by name.
 */
const FORBIDDEN_KEYS = new Set([
  'prototype',
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
]);

/**
 * How deep a payload may nest: the contract's payloads are one object of plain fields. A deeper
 * one is refused before class-transformer walks it (it recurses, and 2,500 levels overflow the
 * stack).
 */
export const MAX_PAYLOAD_DEPTH = 2;

/**
 * Turns a client payload into a validated DTO or throws `INVALID_PAYLOAD` naming what is wrong.
 * Unknown fields are refused rather than dropped, so a client typo is told, not silently ignored.
 */
export function validatePayload<T extends object>(dto: Constructor<T>, payload: unknown): T {
  checkPayloadShape(payload);
  let instance: T;
  let errors: ValidationError[];
  try {
    instance = plainToInstance(dto, payload);
    errors = validateSync(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
  } catch {
    // Whatever the validators choke on is still the client's payload, never an internal error.
    throw new ChatError(ErrorCode.InvalidPayload, 'payload could not be read');
  }
  if (errors.length > 0) {
    throw new ChatError(ErrorCode.InvalidPayload, describe(errors));
  }
  return instance;
}

/**
 * What every payload must be before its fields are looked at, refused in this order: an object
 * (no array, no binary attachment), no key named after something every object inherits, nothing
 * nested deeper than MAX_PAYLOAD_DEPTH. Shared by validatePayload and the compiled validators.
 */
export function checkPayloadShape(payload: unknown): asserts payload is Record<string, unknown> {
  if (
    typeof payload !== 'object' ||
    payload === null ||
    Array.isArray(payload) ||
    ArrayBuffer.isView(payload) // a Buffer is one
  ) {
    throw new ChatError(ErrorCode.InvalidPayload, 'payload must be an object');
  }
  let nested = false;
  for (const key of Object.keys(payload)) {
    if (FORBIDDEN_KEYS.has(key)) {
      throw new ChatError(ErrorCode.InvalidPayload, `property ${key} should not exist`);
    }
    const value = (payload as Record<string, unknown>)[key];
    if (typeof value === 'object' && value !== null) nested = true;
  }
  // A flat payload (every hot one) is MAX_PAYLOAD_DEPTH >= 1 deep: only a nested one is walked.
  if (nested && nestedDeeperThan(payload, MAX_PAYLOAD_DEPTH)) {
    throw new ChatError(
      ErrorCode.InvalidPayload,
      'payload is nested deeper than the contract allows',
    );
  }
}

/** A payload that takes no field (`rooms:unread`): an object, and any field is unknown. */
export function validateEmptyPayload(payload: unknown): Record<string, never> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ChatError(ErrorCode.InvalidPayload, 'payload must be an object');
  }
  const [extra] = Object.keys(payload);
  if (extra !== undefined) {
    throw new ChatError(
      ErrorCode.InvalidPayload,
      `property ${extra.slice(0, 64)} should not exist`,
    );
  }
  return {};
}

/** Iterative (no recursion to overflow): true when some value sits more than `max` levels down. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Each failing field's message once (a field failing two of its constraints said it twice). */
function describe(errors: ValidationError[]): string {
  return errors
    .flatMap((e) => [
      ...new Set(Object.values(e.constraints ?? { invalid: `${e.property} is invalid` })),
    ])
    .join('; ');
}
