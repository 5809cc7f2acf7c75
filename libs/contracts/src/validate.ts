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
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ChatError(ErrorCode.InvalidPayload, 'payload must be an object');
  }
  if (Buffer.isBuffer(payload) || ArrayBuffer.isView(payload)) {
    throw new ChatError(ErrorCode.InvalidPayload, 'payload must be an object');
  }
  const poisoned = Object.keys(payload).find((k) => FORBIDDEN_KEYS.has(k));
  if (poisoned !== undefined) {
    throw new ChatError(ErrorCode.InvalidPayload, `property ${poisoned} should not exist`);
  }
  if (nestedDeeperThan(payload, MAX_PAYLOAD_DEPTH)) {
    throw new ChatError(
      ErrorCode.InvalidPayload,
      'payload is nested deeper than the contract allows',
    );
  }
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

function describe(errors: ValidationError[]): string {
  return errors
    .flatMap((e) => Object.values(e.constraints ?? { invalid: `${e.property} is invalid` }))
    .join('; ');
}
