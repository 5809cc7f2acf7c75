import { ChatError, ErrorCode } from './errors';
import { HistoryDto, JoinRoomDto, SendMessageDto, TypingDto } from './dto';
import { validatePayload } from './validate';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ChatError ? err.code : `unexpected ${String(err)}`;
  }
  return undefined;
}

describe('validatePayload', () => {
  it('accepts a valid join and keeps its fields', () => {
    expect(validatePayload(JoinRoomDto, { room: 'general_1-x', sinceSeq: 4 })).toEqual(
      expect.objectContaining({ room: 'general_1-x', sinceSeq: 4 }),
    );
  });

  it.each([
    ['a dotted room', { room: 'a.b' }],
    ['a wildcard room', { room: 'room*' }],
    ['a hash room', { room: '#' }],
    ['a room with a space', { room: 'a b' }],
    ['an empty room', { room: '' }],
    ['a 65-character room', { room: 'x'.repeat(65) }],
    ['a numeric room', { room: 42 }],
    ['an unknown field', { room: 'general', extra: true }],
    ['a __proto__ key', JSON.parse('{"room":"general","__proto__":{"admin":true}}')],
    ['a hasOwnProperty key', { room: 'general', hasOwnProperty: null }],
    ['an isPrototypeOf key', { room: 'general', isPrototypeOf: '' }],
    ['a __lookupGetter__ key', { room: 'general', __lookupGetter__: 'x' }],
    ['a toString key', { room: 'general', toString: 1 }],
    ['a negative sinceSeq', { room: 'general', sinceSeq: -1 }],
    ['a string sinceSeq', { room: 'general', sinceSeq: '3' }],
  ])('refuses %s with INVALID_PAYLOAD', (_label, payload) => {
    expect(codeOf(() => validatePayload(JoinRoomDto, payload))).toBe(ErrorCode.InvalidPayload);
  });

  it.each([
    ['null', null],
    ['a string', 'general'],
    ['an array', [{ room: 'general' }]],
    ['a number', 7],
    ['undefined', undefined],
    ['a binary attachment', Buffer.from('general')],
  ])('refuses %s as a payload', (_label, payload) => {
    expect(codeOf(() => validatePayload(JoinRoomDto, payload))).toBe(ErrorCode.InvalidPayload);
  });

  it('accepts a 64-character room name', () => {
    expect(codeOf(() => validatePayload(JoinRoomDto, { room: 'x'.repeat(64) }))).toBeUndefined();
  });

  it('trims message text and enforces 1-4000 characters after trimming', () => {
    expect(validatePayload(SendMessageDto, { room: 'r', text: '  hi  ' }).text).toBe('hi');
    expect(codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: '   ' }))).toBe(
      ErrorCode.InvalidPayload,
    );
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'x'.repeat(4000) })),
    ).toBeUndefined();
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'x'.repeat(4001) })),
    ).toBe(ErrorCode.InvalidPayload);
  });

  it('limits clientId to 1-64 characters', () => {
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'a', clientId: '' })),
    ).toBe(ErrorCode.InvalidPayload);
    expect(
      codeOf(() =>
        validatePayload(SendMessageDto, { room: 'r', text: 'a', clientId: 'c'.repeat(65) }),
      ),
    ).toBe(ErrorCode.InvalidPayload);
  });

  it('limits history pages to 1-100 and typing to booleans', () => {
    expect(codeOf(() => validatePayload(HistoryDto, { room: 'r', limit: 0 }))).toBe(
      ErrorCode.InvalidPayload,
    );
    expect(codeOf(() => validatePayload(HistoryDto, { room: 'r', limit: 101 }))).toBe(
      ErrorCode.InvalidPayload,
    );
    expect(codeOf(() => validatePayload(HistoryDto, { room: 'r', limit: 100 }))).toBeUndefined();
    expect(codeOf(() => validatePayload(TypingDto, { room: 'r', typing: 'yes' }))).toBe(
      ErrorCode.InvalidPayload,
    );
  });

  it('names the problem in the message', () => {
    expect(() => validatePayload(JoinRoomDto, { room: 'a.b' })).toThrow(/room must match/);
  });

  it.each([
    ['a null clientId', SendMessageDto, { room: 'r', text: 'a', clientId: null }],
    ['a numeric clientId', SendMessageDto, { room: 'r', text: 'a', clientId: 7 }],
    ['a null text', SendMessageDto, { room: 'r', text: null }],
    ['a null sinceSeq', JoinRoomDto, { room: 'r', sinceSeq: null }],
    ['a NaN sinceSeq', JoinRoomDto, { room: 'r', sinceSeq: NaN }],
    ['an Infinity sinceSeq', JoinRoomDto, { room: 'r', sinceSeq: Infinity }],
    ['a sinceSeq past 2^53', JoinRoomDto, { room: 'r', sinceSeq: 1e300 }],
    ['a null afterSeq', HistoryDto, { room: 'r', afterSeq: null }],
    ['a null beforeSeq', HistoryDto, { room: 'r', beforeSeq: null }],
    ['a null limit', HistoryDto, { room: 'r', limit: null }],
    ['a null typing', TypingDto, { room: 'r', typing: null }],
    ['a null room', JoinRoomDto, { room: null }],
  ])('refuses %s with INVALID_PAYLOAD', (_label, dto, payload) => {
    expect(codeOf(() => validatePayload(dto as never, payload))).toBe(ErrorCode.InvalidPayload);
  });

  it('refuses text and clientIds that are not well-formed Unicode', () => {
    for (const text of ['hi \uD800', '\uDC00', 'a\uDBFFb', '\uD83D']) {
      expect(codeOf(() => validatePayload(SendMessageDto, { room: 'r', text }))).toBe(
        ErrorCode.InvalidPayload,
      );
      expect(
        codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'ok', clientId: text })),
      ).toBe(ErrorCode.InvalidPayload);
    }
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'an emoji \uD83D\uDE00' })),
    ).toBeUndefined();
  });

  it('counts characters as code points: 4000 emoji pass, 4001 do not', () => {
    const emoji = '\u{1F600}';
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: emoji.repeat(4000) })),
    ).toBeUndefined();
    expect(
      codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: emoji.repeat(4001) })),
    ).toBe(ErrorCode.InvalidPayload);
  });

  it('refuses a deeply nested field without overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 2500; i++) deep = { a: deep };
    expect(codeOf(() => validatePayload(SendMessageDto, { room: 'r', text: 'a', deep }))).toBe(
      ErrorCode.InvalidPayload,
    );
    let arr: unknown = [];
    for (let i = 0; i < 2500; i++) arr = [arr];
    expect(codeOf(() => validatePayload(JoinRoomDto, { room: arr }))).toBe(
      ErrorCode.InvalidPayload,
    );
  });
});
