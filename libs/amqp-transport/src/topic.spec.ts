import { topicMatcher, topicMatches } from './topic';

describe('topicMatches', () => {
  it.each([
    ['room.*', 'room.general', true],
    ['room.*', 'room', false],
    ['room.*', 'room.a.b', false],
    ['presence.#', 'presence.join', true],
    ['presence.#', 'presence', true],
    ['presence.#', 'presence.a.b', true],
    ['presence.#', 'room.general', false],
    ['#', 'anything.at.all', true],
    ['room.general', 'room.general', true],
    ['room.general', 'room.other', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
  ])('%s against %s is %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
    expect(topicMatcher(pattern)(key)).toBe(expected);
  });
});
