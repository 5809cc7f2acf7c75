import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A Lua script of the store, read from `lua/<name>.lua` beside this file (copied into dist by
 * scripts/copy-assets.js). Each file starts with a header naming its KEYS and ARGV; a line
 * `--! include <file>` stands for that file's text (shared functions).
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
}

const LUA_DIR = join(__dirname, 'lua');
const INCLUDE = /^--! include (\S+)$/gm;

export function loadLua(name: string, dir = LUA_DIR): LuaScript {
  const read = (file: string, stack: string[]): string => {
    if (stack.includes(file)) throw new Error(`Lua include cycle: ${[...stack, file].join(' > ')}`);
    const text = readFileSync(join(dir, `${file}.lua`), 'utf8');
    return text.replace(INCLUDE, (_, inc: string) => read(inc, [...stack, file]));
  };
  return { name, source: read(name, []) };
}

/**
 * Presence changes, each a few scripts of one slot each (keys.ts): the instance's side of a
 * socket (conn-*), then its rooms' and its user's side (room-*, user-count) in their groups'
 * slots; a sync or a dead instance replaces the instance's whole share, one group at a time.
 */
export const CONN_JOIN = loadLua('conn-join');
export const CONN_LEAVE = loadLua('conn-leave');
export const CONN_CLOSE = loadLua('conn-close');
export const ROOM_JOIN = loadLua('room-join');
export const ROOM_LEAVE = loadLua('room-leave');
export const USER_COUNT = loadLua('user-count');
export const GROUP_SET_INSTANCE = loadLua('group-set-instance');
/** A room's append: next seq, history, retention, the sender's cursor and the clientId key. */
export const APPEND_MESSAGE = loadLua('append-message');
/** An edit, deletion or reaction: checks, next seq, the update and the message's new state. */
export const UPDATE_MESSAGE = loadLua('update-message');
/** What a join shows: messages, updates (read within a byte budget) and the counter. */
export const JOIN_SNAPSHOT = loadLua('join-snapshot');
/** A user's read cursor in a room and the unread count after it. */
export const READ_CURSOR = loadLua('read-cursor');
/** The user's index of rooms with a cursor: the room first, the oldest past the cap out. */
export const CURSOR_INDEX = loadLua('cursor-index');
/** One page of a room's members with their names, its count and whether a user is one. */
export const MEMBER_PAGE = loadLua('member-page');
