import type { RedisClient } from './redis';
import type { LuaScript } from './scripts';

export type Reply = string | number | null | Reply[];

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<Reply>;

/**
 * Runs the store's Lua scripts as ioredis custom commands: ioredis sends EVALSHA, and the script's
 * source the first time on each connection or when a node has forgotten it (a restart, a promoted
 * replica), so it works alike on one Redis and on every node of a cluster. `keys` are the
 * script's declared KEYS: on a cluster they route the call, and must share one slot.
 */
export class ScriptRunner {
  private readonly commands = new Map<string, ScriptCommand>();

  constructor(private readonly redis: RedisClient) {}

  run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    let command = this.commands.get(script.name);
    if (!command) {
      const name = `roomcast_${script.name.replace(/-/g, '_')}`;
      this.redis.defineCommand(name, { lua: script.source });
      const client = this.redis as unknown as Record<string, ScriptCommand>;
      command = client[name].bind(this.redis);
      this.commands.set(script.name, command);
    }
    return command(keys.length, ...keys, ...args);
  }
}
