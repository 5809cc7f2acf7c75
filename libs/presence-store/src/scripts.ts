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

/** Presence changes: each one atomic step (connect, join, leave, disconnect, instance removal). */
export const CONNECT = loadLua('connect');
export const JOIN = loadLua('join');
export const LEAVE = loadLua('leave');
export const DISCONNECT = loadLua('disconnect');
export const REMOVE_INSTANCE = loadLua('remove-instance');
export const RECOUNT_INSTANCE_ROOMS = loadLua('recount-instance-rooms');
/** A room's append: next seq, history, retention and the clientId key in one step. */
export const APPEND_MESSAGE = loadLua('append-message');
