import {
  CONTRACT,
  codePointCount,
  contractKeys,
  contractVerdict,
  deepValue,
  fingerprint,
  hostileKey,
  hostilePayload,
  hostileString,
  internalTextIn,
  isWellFormedUtf16,
  runFuzz,
  validPayload,
  validText,
  withKey,
  type FuzzEvent,
} from '@roomcast/testing';
import fc from 'fast-check';
import {
  HistoryDto,
  JoinRoomDto,
  LeaveRoomDto,
  MembersDto,
  SendMessageDto,
  TypingDto,
  ReadDto,
  EditMessageDto,
  DeleteMessageDto,
  ReactDto,
  ReactorsDto,
} from './dto';
import { ChatError, ErrorCode } from './errors';
import { isWellFormedText, textLength } from './text';
import { validatePayload } from './validate';

/**
 * validatePayload against generated payloads of every shape, each DTO against the contract as
 * PROTOCOL.md states it (the oracle in libs/testing/src/arbitraries.ts). Bounded by case count:
 * FUZZ_RUNS=N runs N cases per property; a failure prints the seed and path that replay it.
 */

type Dto = new () => object;

const DTOS: [FuzzEvent, string, Dto][] = [
  ['room:join', 'JoinRoomDto', JoinRoomDto],
  ['room:leave', 'LeaveRoomDto', LeaveRoomDto],
  ['room:members', 'MembersDto', MembersDto],
  ['message:send', 'SendMessageDto', SendMessageDto],
  ['room:history', 'HistoryDto', HistoryDto],
  ['typing', 'TypingDto', TypingDto],
  ['room:read', 'ReadDto', ReadDto],
  ['message:edit', 'EditMessageDto', EditMessageDto],
  ['message:delete', 'DeleteMessageDto', DeleteMessageDto],
  ['message:react', 'ReactDto', ReactDto],
  ['message:reactors', 'ReactorsDto', ReactorsDto],
];

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join();

function describeError(err: unknown): string {
  if (err instanceof ChatError) return `ChatError ${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `a thrown ${typeof err}: ${String(err)}`;
}

/** Runs validatePayload and checks what every outcome must satisfy, whatever the payload. */
function validateChecked(
  dto: Dto,
  payload: unknown,
): { instance: Record<string, unknown> } | { error: ChatError } {
  const before = fingerprint(payload);
  let instance: Record<string, unknown> | undefined;
  let error: unknown;
  try {
    instance = validatePayload(dto, payload) as Record<string, unknown>;
  } catch (err) {
    error = err;
  }
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== PROTOTYPE_KEYS) {
    throw new Error('Object.prototype gained a property: the payload polluted it');
  }
  if (fingerprint(payload) !== before) throw new Error('validatePayload changed the payload');
  if (instance) return { instance };
  if (!(error instanceof ChatError) || error.code !== ErrorCode.InvalidPayload) {
    throw new Error(`threw ${describeError(error)} instead of INVALID_PAYLOAD`);
  }
  if (typeof error.message !== 'string' || error.message.length === 0) {
    throw new Error('INVALID_PAYLOAD without a message');
  }
  const leak = internalTextIn(error.message, payload);
  if (leak) throw new Error(`the message shows ${leak}: ${error.message.slice(0, 300)}`);
  return { error };
}

/** An accepted payload: an instance of the DTO holding exactly what was sent, all in range. */
function assertConforms(
  event: FuzzEvent,
  dto: Dto,
  instance: Record<string, unknown>,
  payload: unknown,
): void {
  if (!(instance instanceof dto)) throw new Error(`accepted, but not as a ${dto.name}`);
  if (contractVerdict(event, payload) === 'invalid') {
    throw new Error('accepted a payload the contract refuses');
  }
  const sent = payload as Record<string, unknown>;
  const present = (o: Record<string, unknown>) =>
    Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .join();
  if (present(instance) !== present(sent)) {
    throw new Error(`fields ${present(instance)} accepted from a payload of ${present(sent)}`);
  }
  const { required, optional } = CONTRACT[event];
  for (const key of contractKeys(event)) {
    const value = instance[key];
    if (value === undefined) {
      if (Object.hasOwn(required, key)) throw new Error(`accepted without ${key}`);
      continue;
    }
    if ((required[key] ?? optional[key])(value) === 'invalid') {
      throw new Error(`accepted ${key} = ${fc.stringify(value).slice(0, 200)}`);
    }
    const expected = key === 'text' ? (sent.text as string).trim() : sent[key];
    if (!Object.is(value, expected)) {
      throw new Error(`${key} became ${fc.stringify(value).slice(0, 200)}`);
    }
    if (typeof value === 'string' && !isWellFormedText(value)) {
      throw new Error(`accepted ${key} that is not well-formed`);
    }
  }
}

describe('validatePayload under fuzzing', () => {
  describe.each(DTOS)('%s (%s)', (event, name, dto) => {
    it('answers any payload with a conforming instance or INVALID_PAYLOAD, nothing else', async () => {
      await runFuzz(
        `validate ${name} hostile`,
        fc.property(hostilePayload(event), (payload) => {
          const result = validateChecked(dto, payload);
          if ('instance' in result) assertConforms(event, dto, result.instance, payload);
        }),
        { defaultRuns: 400 },
      );
    });

    it('survives nesting of up to 3000 levels under any key', async () => {
      await runFuzz(
        `validate ${name} deep`,
        fc.property(
          validPayload(event),
          fc.oneof(fc.constantFrom(...contractKeys(event)), hostileKey()),
          deepValue(3000),
          (valid, key, deep) => {
            const payload = withKey(valid, key, deep);
            const result = validateChecked(dto, payload);
            if ('instance' in result) assertConforms(event, dto, result.instance, payload);
          },
        ),
        { defaultRuns: 60 },
      );
    });

    it('accepts every payload the contract allows', async () => {
      await runFuzz(
        `validate ${name} valid`,
        fc.property(validPayload(event), (payload) => {
          if (contractVerdict(event, payload) !== 'valid') {
            throw new Error('the generator made a payload the oracle does not call valid');
          }
          const result = validateChecked(dto, payload);
          if ('error' in result) throw new Error(`refused: ${result.error.message.slice(0, 300)}`);
          assertConforms(event, dto, result.instance, payload);
        }),
        { defaultRuns: 200 },
      );
    });
  });

  it('isWellFormedText and textLength agree with an independent reading of UTF-16', async () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    await runFuzz(
      'text helpers',
      fc.property(
        fc.oneof(hostileString(), validText(), fc.string({ unit, maxLength: 30 })),
        (s) => {
          if (isWellFormedText(s) !== isWellFormedUtf16(s)) {
            throw new Error(`isWellFormedText says ${isWellFormedText(s)}`);
          }
          if (textLength(s) !== codePointCount(s)) {
            throw new Error(`textLength ${textLength(s)}, code points ${codePointCount(s)}`);
          }
        },
      ),
      { defaultRuns: 500 },
    );
  });
});
