import type Redis from 'ioredis';
import type { LuaScript } from './scripts';

export type Reply = string | number | null | Reply[];

/**
 * Runs the store's Lua scripts by SHA (loaded once per script), falling back to EVAL when Redis
 * has forgotten them (a restart). `keys` are the script's declared KEYS.
 */
export class ScriptRunner {
  private readonly shas = new Map<string, string>();

  constructor(private readonly redis: Redis) {}

  async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    const argv = args.map(String);
    let sha = this.shas.get(script.name);
    if (!sha) {
      sha = (await this.redis.script('LOAD', script.source)) as string;
      this.shas.set(script.name, sha);
    }
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...argv)) as Reply;
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return (await this.redis.eval(script.source, keys.length, ...keys, ...argv)) as Reply;
    }
  }
}
