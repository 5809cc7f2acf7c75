import { Cluster } from 'ioredis';
import type { RedisClient } from './redis';
import type { LuaScript } from './scripts';

export type Reply = string | number | null | Reply[];

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<Reply>;

interface Queued {
  script: LuaScript;
  keys: string[];
  args: (string | number)[];
  resolve: (reply: Reply) => void;
  reject: (err: unknown) => void;
}

/**
 * Runs the store's Lua scripts as ioredis custom commands: ioredis sends EVALSHA, and the script's
 * source the first time on each connection or when a node has forgotten it (a restart, a promoted
 * replica), so it works alike on one Redis and on every node of a cluster. `keys` are the
 * script's declared KEYS: on a cluster they route the call, and must share one slot.
 */
export class ScriptRunner {
  private readonly commands = new Map<string, ScriptCommand>();
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly redis: RedisClient) {}

  run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    return this.command(script)(keys.length, ...keys, ...args);
  }

  /**
   * As `run`, but the calls made in one event-loop turn go to Redis together, as one pipeline
   * (one write, one read) sent when the turn's I/O callbacks are done (setImmediate): under load
   * many sends share a round trip, and at low load a lone call waits for nothing but the end of
   * the callback that made it. Each call still gets its own reply or error. On a Redis Cluster
   * the calls go out one by one (a pipeline must stay on one node, and a failover's redirections
   * are simpler per command).
   */
  runBatched(script: LuaScript, keys: string[], args: (string | number)[]): Promise<Reply> {
    if (this.redis instanceof Cluster) return this.run(script, keys, args);
    // Defined on the client before any pipeline is made: a pipeline takes the client's commands.
    this.command(script);
    return new Promise<Reply>((resolve, reject) => {
      this.queue.push({ script, keys, args, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (batch.length === 1) {
      const [q] = batch;
      this.run(q.script, q.keys, q.args).then(q.resolve, q.reject);
      return;
    }
    const pipeline = this.redis.pipeline() as unknown as Record<string, ScriptCommand> & {
      exec(): Promise<[Error | null, Reply][] | null>;
    };
    for (const q of batch)
      void pipeline[commandName(q.script)](q.keys.length, ...q.keys, ...q.args);
    pipeline.exec().then(
      (results) => {
        batch.forEach((q, i) => {
          const [err, reply] = results?.[i] ?? [new Error('no reply in the pipeline'), null];
          if (err) q.reject(err);
          else q.resolve(reply);
        });
      },
      (err: unknown) => batch.forEach((q) => q.reject(err)),
    );
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
