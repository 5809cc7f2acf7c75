import {
  deepValue,
  fingerprint,
  hostileKey,
  hostilePayload,
  internalTextIn,
  runFuzz,
  validPayload,
  withKey,
  contractKeys,
  type FuzzEvent,
} from '@roomcast/testing';
import fc from 'fast-check';
import { compileEventValidators, compilePayloadValidator } from './compiled-validate';
import { SendMessageDto, payloadFields } from './dto';
import { ChatError, ErrorCode } from './errors';
import { CLIENT_EVENT_DTOS, payloadSchema } from './schemas';
import { validatePayload } from './validate';

/**
 * The compiled validators against validatePayload (class-transformer + class-validator, the
 * reference): on every payload, the same verdict, the same error code and message, and the same
 * fields in an instance of the same DTO. Bounded by case count (FUZZ_RUNS overrides each default).
 */

type Outcome = { ok: Record<string, unknown> } | { code: string; message: string };

function outcome(run: () => object): Outcome {
  try {
    return { ok: run() as Record<string, unknown> };
  } catch (err) {
    if (!(err instanceof ChatError)) {
      throw new Error(`threw ${String(err)}, not a ChatError`, { cause: err });
    }
    return { code: err.code, message: err.message };
  }
}

/** Own fields with a value, as [key, value] pairs sorted by key. */
function fieldsOf(instance: Record<string, unknown>): [string, unknown][] {
  return Object.keys(instance)
    .filter((k) => instance[k] !== undefined)
    .sort()
    .map((k) => [k, instance[k]]);
}

const validators = compileEventValidators();
const EVENTS = Object.keys(CLIENT_EVENT_DTOS) as (keyof typeof CLIENT_EVENT_DTOS)[];

function assertAgree(event: keyof typeof CLIENT_EVENT_DTOS, payload: unknown): void {
  const dto = CLIENT_EVENT_DTOS[event] as new () => object;
  const before = fingerprint(payload);
  const compiled = outcome(() => validators[event](payload));
  if (fingerprint(payload) !== before)
    throw new Error('the compiled validator changed the payload');
  const reference = outcome(() => validatePayload(dto, payload));
  const verdicts = () =>
    `compiled ${JSON.stringify('ok' in compiled ? 'accepted' : compiled)}, ` +
    `class-validator ${JSON.stringify('ok' in reference ? 'accepted' : reference)}`;
  if ('ok' in compiled) {
    if (!('ok' in reference)) throw new Error(verdicts());
    if (!(compiled.ok instanceof dto)) throw new Error(`accepted, but not as a ${dto.name}`);
    for (const [[ck, cv], [rk, rv]] of zip(fieldsOf(compiled.ok), fieldsOf(reference.ok))) {
      if (ck !== rk || !Object.is(cv, rv)) {
        throw new Error(
          `compiled ${ck} = ${fc.stringify(cv)}, class-validator ${rk} = ${fc.stringify(rv)}`,
        );
      }
    }
    return;
  }
  if ('ok' in reference) throw new Error(verdicts());
  const leak = internalTextIn(compiled.message, payload);
  if (leak) throw new Error(`the message shows ${leak}: ${compiled.message.slice(0, 300)}`);
  if (reference.message === 'payload could not be read') {
    // class-transformer threw on a nested value (a `constructor` key in it, say), where the
    // compiled validator names the field instead: the same refusal, told better.
    expect(compiled.code).toBe(reference.code);
    return;
  }
  expect(compiled).toEqual(reference);
}

function zip<A, B>(a: A[], b: B[]): [A, B][] {
  if (a.length !== b.length) throw new Error(`${a.length} fields against ${b.length}`);
  return a.map((x, i) => [x, b[i]]);
}

describe('compiled payload validators', () => {
  it('compile a schema for every client event with fields, and know every field of its DTO', () => {
    expect(EVENTS.sort()).toEqual(
      [
        'auth:refresh',
        'message:delete',
        'message:edit',
        'message:react',
        'message:reactors',
        'message:send',
        'room:history',
        'room:join',
        'room:leave',
        'room:members',
        'room:read',
        'typing',
      ].sort(),
    );
    expect(payloadSchema(SendMessageDto)).toEqual({
      type: 'object',
      properties: {
        text: { type: 'string', roomcastText: { min: 1, max: 4000, trim: true } },
        clientId: { type: 'string', roomcastText: { min: 1, max: 64, trim: false } },
        room: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      },
      required: ['text', 'room'],
      additionalProperties: false,
    });
    for (const event of EVENTS) {
      const fields = payloadFields(CLIENT_EVENT_DTOS[event]).map(([k]) => k);
      expect([event, [...fields].sort()]).toEqual([event, contractKeys(event as FuzzEvent).sort()]);
    }
  });

  it.each<[string, keyof typeof CLIENT_EVENT_DTOS, unknown, string]>([
    ['a dotted room', 'room:join', { room: 'a.b' }, 'room must match ^[A-Za-z0-9_-]{1,64}$'],
    ['no room', 'room:leave', {}, 'room must match ^[A-Za-z0-9_-]{1,64}$'],
    [
      'unknown keys first, then the fields in order',
      'message:send',
      { zz: 1, text: ' ', room: 42, clientId: null, 1: 2 },
      'property 1 should not exist; property zz should not exist; ' +
        'text must be 1-4000 characters after trimming, of well-formed Unicode; ' +
        'clientId must be a string of 1-64 characters; room must match ^[A-Za-z0-9_-]{1,64}$',
    ],
    ['a string typing', 'typing', { room: 'r', typing: 'yes' }, 'typing must be a boolean value'],
    [
      'a 1.5 seq',
      'room:read',
      { room: 'r', seq: 1.5 },
      'seq must be an integer from 0 to 2^53 - 1',
    ],
    [
      'a __proto__ key',
      'room:join',
      JSON.parse('{"room":"r","__proto__":{}}'),
      'property __proto__ should not exist',
    ],
    ['a Buffer', 'message:send', Buffer.from('x'), 'payload must be an object'],
    [
      'a deep field',
      'room:join',
      { room: 'r', a: { b: { c: 1 } } },
      'payload is nested deeper than the contract allows',
    ],
  ])('refuses %s with the message validatePayload gives', (_label, event, payload, message) => {
    expect(outcome(() => validators[event](payload))).toEqual({
      code: ErrorCode.InvalidPayload,
      message,
    });
    assertAgree(event, payload);
  });

  it('counts text in code points after trimming, and refuses lone surrogates', () => {
    const send = validators['message:send'];
    expect(send({ room: 'r', text: '  hi  ' })).toEqual(
      expect.objectContaining({ room: 'r', text: 'hi' }),
    );
    expect(send({ room: 'r', text: '\u{1F600}'.repeat(4000) }).text).toHaveLength(8000);
    for (const text of ['\u{1F600}'.repeat(4001), 'x'.repeat(4001), ' \n ', 'a\uD800', '\uDC00b']) {
      expect(() => send({ room: 'r', text })).toThrow(ChatError);
    }
    expect(() => send({ room: 'r', text: 'ok', clientId: '\u{1F600}'.repeat(65) })).toThrow(
      /clientId/,
    );
    expect(
      send({ room: 'r', text: 'ok', clientId: '\u{1F600}'.repeat(64) }).clientId,
    ).toBeDefined();
  });

  it('accepts an optional field given as undefined and ignores inherited keys, as class-validator does', () => {
    for (const payload of [
      { room: 'r', sinceSeq: undefined },
      Object.assign(Object.create({ extra: 1, sinceSeq: 'x' }) as object, { room: 'r' }),
      Object.assign(Object.create(null) as object, { room: 'r', sinceSeq: 3 }),
    ]) {
      assertAgree('room:join', payload);
      expect(validators['room:join'](payload)).toBeInstanceOf(CLIENT_EVENT_DTOS['room:join']);
    }
    assertAgree('room:join', Object.create({ room: 'r' }));
  });

  it('can compile one DTO on its own', () => {
    const send = compilePayloadValidator(SendMessageDto);
    expect(send({ room: 'r', text: 'a', clientId: 'c' })).toBeInstanceOf(SendMessageDto);
  });

  describe.each(EVENTS)('%s', (event) => {
    it('agrees with class-validator on hostile payloads', async () => {
      await runFuzz(
        `compiled ${event} hostile`,
        fc.property(hostilePayload(event as FuzzEvent), (payload) => assertAgree(event, payload)),
        { defaultRuns: 500 },
      );
    });

    it('agrees with class-validator on valid payloads', async () => {
      await runFuzz(
        `compiled ${event} valid`,
        fc.property(validPayload(event as FuzzEvent), (payload) => assertAgree(event, payload)),
        { defaultRuns: 200 },
      );
    });

    it('agrees with class-validator on valid payloads with a key added or replaced', async () => {
      await runFuzz(
        `compiled ${event} near-valid`,
        fc.property(
          validPayload(event as FuzzEvent),
          fc.oneof(fc.constantFrom(...contractKeys(event as FuzzEvent)), hostileKey()),
          fc.oneof(
            { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
            { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, NaN, -0, 2 ** 53, 1e300) },
            { weight: 1, arbitrary: deepValue(50) },
          ),
          (valid, key, value) => assertAgree(event, withKey(valid, key, value)),
        ),
        { defaultRuns: 300 },
      );
    });
  });
});
