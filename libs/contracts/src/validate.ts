import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ChatError, ErrorCode } from './errors';

type Constructor<T> = new () => T;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

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
  // class-transformer silently skips these keys, so they would never reach the whitelist check.
  const poisoned = Object.keys(payload).find((k) => FORBIDDEN_KEYS.has(k));
  if (poisoned !== undefined) {
    throw new ChatError(ErrorCode.InvalidPayload, `property ${poisoned} should not exist`);
  }
  const instance = plainToInstance(dto, payload);
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    throw new ChatError(ErrorCode.InvalidPayload, describe(errors));
  }
  return instance;
}

function describe(errors: ValidationError[]): string {
  return errors
    .flatMap((e) => Object.values(e.constraints ?? { invalid: `${e.property} is invalid` }))
    .join('; ');
}
