import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RoomParamDto, RoomsQueryDto } from './stats.dto';

/** What the global ValidationPipe (transform, stopAtFirstError) does to a query. */
function roomsQuery(query: Record<string, unknown>) {
  const dto = plainToInstance(RoomsQueryDto, query);
  return {
    dto,
    errors: validateSync(dto, { stopAtFirstError: true }).flatMap((e) =>
      Object.values(e.constraints ?? {}),
    ),
  };
}

describe('RoomsQueryDto', () => {
  it('defaults limit to 20', () => {
    expect(roomsQuery({})).toEqual({ dto: { limit: 20 }, errors: [] });
  });

  it.each([
    ['1', 1],
    ['20', 20],
    ['1000', 1000],
    ['010', 10],
  ])('takes limit=%p as %p', (limit, expected) => {
    expect(roomsQuery({ limit })).toEqual({ dto: { limit: expected }, errors: [] });
  });

  // Number() would take most of these: hex, exponents, spaces, signs, decimals, the empty string.
  it.each([
    '0',
    '1001',
    '0x10',
    '1e3',
    ' 10',
    '10 ',
    '+10',
    '-1',
    '10.0',
    '1_000',
    '',
    'abc',
    '٣',
    '9'.repeat(400),
  ])('refuses limit=%p', (limit) => {
    expect(roomsQuery({ limit }).errors).toEqual(['limit must be an integer from 1 to 1000']);
  });

  it('refuses a repeated limit (an array) and a non-string', () => {
    expect(roomsQuery({ limit: ['10', '20'] }).errors).not.toEqual([]);
    expect(roomsQuery({ limit: { $gt: 1 } }).errors).not.toEqual([]);
  });
});

describe('RoomParamDto', () => {
  it('takes a room name and refuses one outside the pattern', () => {
    expect(validateSync(plainToInstance(RoomParamDto, { room: 'lobby-1' }))).toEqual([]);
    expect(validateSync(plainToInstance(RoomParamDto, { room: 'a.b' }))).not.toEqual([]);
  });
});
