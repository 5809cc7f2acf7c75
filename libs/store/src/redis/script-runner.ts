import { Cluster } from 'ioredis';
import type { RedisClient } from './connection';
import type { LuaScript } from './scripts';
import { GroupCommit, type GroupCommitOptions } from '@roomcast/batching';

export type Reply = string | number | null | Reply[];

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<Reply>;

interface Call {
  script: LuaScript;
  keys: string[];
  args: (string | number)[];
}

/** The group commit of each Redis client's batched calls: one per connection, however many runners. */
const commits = new WeakMap<RedisClient, GroupCommit<Call, Reply>>();
const settings = new WeakMap<RedisClient, GroupCommitOptions>();

/**
 * Runs the store's Lua scripts as ioredis custom commands: ioredis sends EVALSHA, and the script's
 * source the first time on each connection or when a node has forgotten it (a restart, a promoted
 * replica), so it works alike on one Redis and on every node of a cluster. `keys` are the
 * script's declared KEYS: on a cluster they route the call, and must share one slot.
 */
export class ScriptRunner {
  private readonly commands = new Map<string, ScriptCommand>();

  constructor(private readonly redis: RedisClient) {}

  /** The group commit settings of `redis`'s batched calls (before its first one). */
  static configure(redis: RedisClient, options: GroupCommitOptions | undefined): void {
    if (options) settings.set(redis, options);
  }

  run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    return this.command(script)(keys.length, ...keys, ...args);
  }

  /**
   * As `run`, but through the client's group commit (the write path: appends, updates, cursor
   * moves): while one pipeline is in flight the next calls wait, then go together as one
   * pipeline (one write, one read). A lone call waits for nothing but the end of the turn that
   * made it. Each call still gets its own reply or error. On a Redis Cluster the calls go out one
   * by one (a pipeline must stay on one node, and a failover's redirections are simpler per
   * command).
   */
  runBatched(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    if (this.redis instanceof Cluster) return this.run(script, keys, args);
    // Defined on the client before any pipeline is made: a pipeline takes the client's commands.
    this.command(script);
    let commit = commits.get(this.redis);
    if (!commit) {
      const redis = this.redis;
      commit = new GroupCommit((calls) => pipeline(redis, calls), settings.get(redis));
      commits.set(this.redis, commit);
    }
    return commit.submit({ script, keys, args });
  }

  private command(script: LuaScript): ScriptCommand {
    let command = this.commands.get(script.name);
    if (!command) {
      const name = commandName(script);
      this.redis.defineCommand(name, { lua: script.source });
      const client = this.redis as unknown as Record<string, ScriptCommand>;
      command = client[name].bind(this.redis);
      this.commands.set(script.name, command);
    }
    return command;
  }
}

/** The ioredis command a script is defined as. */
function commandName(script: LuaScript): string {
  return `roomcast_${script.name.replace(/-/g, '_')}`;
}

/**
 * One batch of calls whose scripts are already defined on `redis`: a lone call as itself, more
 * as one pipeline; an outcome per call.
 */
async function pipeline(redis: RedisClient, calls: Call[]): Promise<PromiseSettledResult<Reply>[]> {
  if (calls.length === 1) {
    const [c] = calls;
    const client = redis as unknown as Record<string, ScriptCommand>;
    return [await settled(client[commandName(c.script)](c.keys.length, ...c.keys, ...c.args))];
  }
  const batch = redis.pipeline() as unknown as Record<string, ScriptCommand> & {
    exec(): Promise<[Error | null, Reply][] | null>;
  };
  for (const c of calls) void batch[commandName(c.script)](c.keys.length, ...c.keys, ...c.args);
  const results = await batch.exec();
  return calls.map((_, i) => {
    const [err, reply] = results?.[i] ?? [new Error('no reply in the pipeline'), null];
    return err ? { status: 'rejected', reason: err } : { status: 'fulfilled', value: reply };
  });
}

function settled<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}
