import { execFile, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { roomRoutingKey } from '@roomcast/contracts';
import { tmpdir, userInfo } from 'node:os';
import { connect } from 'node:net';
import * as path from 'node:path';
import { exited, freePort, killGroup, spawnGroup, type GroupProcess } from './processes';
import { waitFor } from './wait';

export interface RabbitNode {
  /** The Erlang node name, `<prefix>-<n>@localhost`. */
  name: string;
  /** Its AMQP port on 127.0.0.1. */
  port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>`. */
  url: string;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** Every node's URL, comma-separated: an AMQP_URL listing the whole cluster. */
  url: string;
  /** How long starting it took (processes, join_cluster, every node running). */
  startMs: number;
  /** The nodes' URLs starting with node `first` and going round: a service's own order. */
  urlFrom(first: number): string;
  /** Runs rabbitmqctl against one node; resolves with its stdout. */
  ctl(node: RabbitNode, ...args: string[]): Promise<string>;
  /** `rabbitmqctl stop_app`: the node leaves the cluster's running set, closing its clients. */
  stopApp(node: RabbitNode): Promise<void>;
  /** `rabbitmqctl start_app` and waits until every node sees it running again. */
  startApp(node: RabbitNode): Promise<void>;
  /** Kills one node's processes (SIGKILL: a crash) and waits for them to exit. */
  kill(node: RabbitNode): Promise<void>;
  /**
   * `kill -9` of the node's Erlang VM alone (its `beam.smp`, found by the node's
   * RABBITMQ_NODENAME and its process group, never by program name), as a crash of the VM does;
   * waits until its AMQP port is closed. Resolves with the VM's pid.
   */
  crash(node: RabbitNode): Promise<number>;
  /** Starts a killed node again with its data, and waits until it runs in the cluster. */
  restart(node: RabbitNode): Promise<void>;
  /** The names of the client connections (`connection_name`) a node holds. */
  connectionNames(node: RabbitNode): Promise<string[]>;
  /** The node a quorum queue's leader is on, as the given node sees it. */
  leaderOf(queue: string, asSeenBy?: RabbitNode): Promise<RabbitNode>;
  /** The node holding `name`'s connection, or undefined. */
  nodeOfConnection(name: string): Promise<RabbitNode | undefined>;
  /**
   * The room keys (`room.*`) bound from `exchange` to each of `queues`, sorted, as `node` lists
   * them: which rooms reach which gateway's queue on this broker.
   */
  roomBindings(node: RabbitNode, exchange: string, queues: string[]): Promise<string[][]>;
  /** The nodes of several named connections, from one listing (one rabbitmqctl call). */
  nodesOfConnections(names: string[]): Promise<(RabbitNode | undefined)[]>;
  /** Kills every node and removes its files. */
  stop(): Promise<void>;
}

export interface RabbitClusterOptions {
  /** @default 3 */
  nodes?: number;
  /** Names the nodes `<prefix>-1@localhost`...: unique per run. @default roomcast-<pid> */
  prefix?: string;
  /** @default 60000 */
  timeoutMs?: number;
}

interface NodeProcess extends RabbitNode {
  distPort: number;
  dir: string;
  proc?: GroupProcess;
  /** Its Erlang VM runs but the broker app is stopped (`stop_app`): it answers few commands. */
  appStopped?: boolean;
}

/** The directory of RabbitMQ's own scripts (Debian's wrappers in /usr/sbin switch users with su). */
function rabbitBin(): string {
  const debian = '/usr/lib/rabbitmq/bin';
  if (existsSync(path.join(debian, 'rabbitmq-server'))) return debian;
  const which = spawnSync('sh', ['-c', 'command -v rabbitmq-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status !== 0 || !found) {
    throw new Error(
      'rabbitmq-server is not installed: the RabbitMQ cluster tests start their own nodes from ' +
        'it; install it with: apt-get install -y rabbitmq-server',
    );
  }
  return path.dirname(found);
}

/**
 * A RabbitMQ cluster of the test's own from the machine's rabbitmq-server: `nodes` nodes on free
 * AMQP and distribution ports, each with its own node name, config file (`listeners.tcp`), data
 * and log directories and an empty plugins file, all in one temporary directory with an Erlang
 * cookie of its own (so it can never join or disturb the machine's broker). As root the nodes run
 * as the `rabbitmq` user, which owns the directory. Every node leads a process group of its own;
 * `stop()` kills them (and so does this process's exit, should a test forget).
 */
export async function startRabbitCluster(
  options: RabbitClusterOptions = {},
): Promise<RabbitCluster> {
  const count = options.nodes ?? 3;
  const prefix = options.prefix ?? `roomcast-${process.pid}`;
  const timeoutMs = options.timeoutMs ?? 60000;
  const bin = rabbitBin();
  const started = Date.now();
  const root = mkdtempSync(path.join(tmpdir(), 'roomcast-rabbit-cluster-'));
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? rabbitmqUser() : undefined;
  const nodes: NodeProcess[] = [];

  // The cookie authenticates the CLI and the nodes to each other: ours alone.
  const cookie = path.join(root, '.erlang.cookie');
  writeFileSync(cookie, `ROOMCAST${Math.random().toString(36).slice(2).toUpperCase()}`, {
    mode: 0o400,
  });
  const baseEnv = { HOME: root, RABBITMQ_CONF_ENV_FILE: path.join(root, 'rabbitmq-env.conf') };
  // An empty env file: the machine's /etc/rabbitmq/rabbitmq-env.conf names its own node.
  writeFileSync(
    baseEnv.RABBITMQ_CONF_ENV_FILE,
    'ERL_EPMD_ADDRESS=127.0.0.1\nexport ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n',
  );
  /** A RabbitMQ program, as the rabbitmq user when we are root. */
  const command = (program: string, args: string[], env: Record<string, string> = {}) => {
    const all = { ...baseEnv, ...env };
    const assigns = Object.entries(all).map(([k, v]) => `${k}=${v}`);
    return asRoot
      ? {
          file: 'runuser',
          args: ['-u', 'rabbitmq', '--', 'env', ...assigns, path.join(bin, program), ...args],
          env: {},
        }
      : { file: path.join(bin, program), args, env: all };
  };
  const ctlRaw = (node: NodeProcess, args: string[], ms = 30000): Promise<string> => {
    const c = command('rabbitmqctl', ['-n', node.name, ...args]);
    return new Promise((resolve, reject) => {
      execFile(
        c.file,
        c.args,
        { timeout: ms, encoding: 'utf8', cwd: root, env: { ...process.env, ...c.env } },
        (err, stdout, stderr) => {
          if (err) {
            reject(
              new Error(`rabbitmqctl -n ${node.name} ${args.join(' ')} failed: ${stderr || err}`),
            );
          } else resolve(stdout);
        },
      );
    });
  };

  const launch = (n: NodeProcess) => {
    const c = command('rabbitmq-server', [], {
      RABBITMQ_NODENAME: n.name,
      RABBITMQ_CONFIG_FILE: path.join(n.dir, 'rabbitmq.conf'),
      RABBITMQ_MNESIA_BASE: path.join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(n.dir, 'log'),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(n.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: path.join(n.dir, 'pid'),
    });
    n.proc = spawnGroup(c.file, c.args, { cwd: root, env: c.env, keepLogs: 50 });
  };
  const alive = (n: NodeProcess) =>
    n.proc !== undefined && n.proc.child.exitCode === null && n.proc.child.signalCode === null;
  /**
   * Until the node answers and has booted (epmd may not know it for its first second); a node
   * that exits meanwhile fails at once, with the end of its output.
   */
  const awaitBoot = async (n: NodeProcess, ms: number) => {
    let gone = false;
    await waitFor(
      async () => {
        if (!alive(n)) return (gone = true);
        await ctlRaw(n, ['await_startup', '--timeout', '5'], 10000);
        return true;
      },
      ms,
      `RabbitMQ node ${n.name} booted`,
      250,
    );
    if (gone) {
      throw new Error(
        `RabbitMQ node ${n.name} exited while booting: ${n.proc?.logs.join('').slice(-2000)}`,
      );
    }
  };
  const running = async (from: NodeProcess): Promise<string[]> => {
    const out = await ctlRaw(from, ['cluster_status', '--formatter', 'json'], 10000);
    return (JSON.parse(out) as { running_nodes: string[] }).running_nodes;
  };
  const awaitRunningEverywhere = (n: NodeProcess, ms: number) =>
    waitFor(
      async () => {
        for (const other of nodes.filter((m) => alive(m) && !m.appStopped)) {
          if (!(await running(other)).includes(n.name)) return false;
        }
        return true;
      },
      ms,
      `${n.name} running in the cluster`,
      250,
    );

  const killNode = async (n: NodeProcess) => {
    if (!n.proc) return;
    killGroup(n.proc.child, 'SIGKILL');
    await exited(n.proc.child);
    // The group held the node's beam.smp; its port closes with it.
    await waitFor(async () => !(await portOpen(n.port)), 10000, `${n.name} gone`, 50);
  };
  /** The node's beam.smp: in the node's process group, RABBITMQ_NODENAME=<its name> in its environment. */
  const vmOf = (n: NodeProcess): number | undefined => {
    const group = n.proc?.child.pid;
    if (group === undefined) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (!argv[0]?.endsWith('/beam.smp') && argv[0] !== 'beam.smp') continue;
        // stat: "pid (comm) state ppid pgrp ...": the fields after the command's closing paren.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        if (pgrp !== group) continue;
        const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        if (environ.includes(`RABBITMQ_NODENAME=${n.name}`) || argv.includes(n.name)) {
          return Number(entry);
        }
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return undefined;
  };
  const crashNode = async (n: NodeProcess): Promise<number> => {
    const pid = vmOf(n);
    if (pid === undefined) throw new Error(`no beam.smp found for ${n.name}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await portOpen(n.port)), 10000, `${n.name} gone`, 50);
    // What the VM leaves (its launcher, erl_child_setup) exits with it; anything left is
    // cleared so the node can start again.
    if (n.proc) {
      const leader = n.proc.child;
      await Promise.race([exited(leader), new Promise((r) => setTimeout(r, 3000))]);
      killGroup(leader, 'SIGKILL');
      await exited(leader);
    }
    return pid;
  };
  const killAllSync = () => {
    for (const n of nodes) if (n.proc) killGroup(n.proc.child, 'SIGKILL');
  };
  process.once('exit', killAllSync);
  const stop = async () => {
    process.removeListener('exit', killAllSync);
    await Promise.all(nodes.map(killNode));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (let i = 1; i <= count; i++) {
      const dir = path.join(root, `node${i}`);
      const n: NodeProcess = {
        name: `${prefix}-${i}@localhost`,
        port: await freePort(),
        distPort: await freePort(),
        url: '',
        dir,
      };
      n.url = `amqp://guest:guest@127.0.0.1:${n.port}`;
      mkdirSync(path.join(dir, 'mnesia'), { recursive: true });
      mkdirSync(path.join(dir, 'log'), { recursive: true });
      writeFileSync(path.join(dir, 'enabled_plugins'), '');
      writeFileSync(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${n.port}\n`);
      nodes.push(n);
    }
    if (owner) chownTree(root, owner.uid, owner.gid);
    for (const n of nodes) launch(n);
    const deadline = started + timeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    for (const n of nodes) await awaitBoot(n, left());
    for (const n of nodes.slice(1)) {
      await ctlRaw(n, ['stop_app']);
      await ctlRaw(n, ['join_cluster', nodes[0].name]);
      await ctlRaw(n, ['start_app']);
    }
    for (const n of nodes) await awaitRunningEverywhere(n, left());
  } catch (err) {
    await stop();
    throw err;
  }

  const find = (node: RabbitNode): NodeProcess => {
    const n = nodes.find((m) => m.name === node.name);
    if (!n) throw new Error(`${node.name} is not a node of this cluster`);
    return n;
  };
  const anyAlive = (): NodeProcess => {
    const n = nodes.find((m) => alive(m) && !m.appStopped);
    if (!n) throw new Error('no node of the RabbitMQ cluster is running');
    return n;
  };
  const publicNode = (n: NodeProcess): RabbitNode => ({ name: n.name, port: n.port, url: n.url });
  /** Every client connection of the cluster, with the node it is on (by the port it reached). */
  const connections = async (): Promise<{ name?: string; node: NodeProcess }[]> => {
    const out = await ctlRaw(anyAlive(), [
      'list_connections',
      'port',
      'client_properties',
      '--formatter',
      'json',
    ]);
    const rows = JSON.parse(out) as { port: number; client_properties: unknown }[];
    return rows.flatMap((r) => {
      const node = nodes.find((n) => n.port === Number(r.port));
      return node ? [{ name: connectionName(r.client_properties), node }] : [];
    });
  };
  const nodesOfConnections = async (names: string[]) => {
    const listed = await connections();
    return names.map((name) => {
      const found = listed.find((c) => c.name === name);
      return found && publicNode(found.node);
    });
  };
  const connectionNames = async (node: RabbitNode): Promise<string[]> =>
    (await connections())
      .filter((c) => c.node.name === node.name && c.name !== undefined)
      .map((c) => c.name!);

  return {
    nodes: nodes.map(publicNode),
    url: nodes.map((n) => n.url).join(','),
    startMs: Date.now() - started,
    urlFrom: (first) => nodes.map((_, i) => nodes[(first + i) % nodes.length].url).join(','),
    ctl: (node, ...args) => ctlRaw(find(node), args),
    async stopApp(node) {
      const n = find(node);
      n.appStopped = true;
      await ctlRaw(n, ['stop_app']);
    },
    async startApp(node) {
      const n = find(node);
      await ctlRaw(n, ['start_app']);
      n.appStopped = false;
      await awaitRunningEverywhere(n, timeoutMs);
    },
    kill: (node) => killNode(find(node)),
    crash: (node) => crashNode(find(node)),
    async restart(node) {
      const n = find(node);
      if (alive(n)) throw new Error(`${n.name} is still running`);
      launch(n);
      await awaitBoot(n, timeoutMs);
      await awaitRunningEverywhere(n, timeoutMs);
    },
    connectionNames,
    async leaderOf(queue, asSeenBy) {
      const from = asSeenBy ? find(asSeenBy) : anyAlive();
      const out = await ctlRaw(from, ['list_queues', 'name', 'leader', '--formatter', 'json']);
      const row = (JSON.parse(out) as { name: string; leader?: string }[]).find(
        (r) => r.name === queue,
      );
      const n = nodes.find((m) => m.name === row?.leader);
      if (!n) throw new Error(`no leader known for queue ${queue} (${out.trim().slice(0, 300)})`);
      return publicNode(n);
    },
    async nodeOfConnection(name) {
      return (await nodesOfConnections([name]))[0];
    },
    nodesOfConnections,
    async roomBindings(node, exchange, queues) {
      const out = await ctlRaw(find(node), [
        'list_bindings',
        'source_name',
        'destination_name',
        'routing_key',
        '--formatter',
        'json',
      ]);
      const rows = JSON.parse(out) as {
        source_name: string;
        destination_name: string;
        routing_key: string;
      }[];
      return queues.map((queue) =>
        rows
          .filter(
            (r) =>
              r.source_name === exchange &&
              r.destination_name === queue &&
              r.routing_key.startsWith(roomRoutingKey('')),
          )
          .map((r) => r.routing_key)
          .sort(),
      );
    },
    stop,
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function rabbitmqUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'rabbitmq'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      'there is no rabbitmq user: as root the RabbitMQ cluster tests run their nodes as the ' +
        "user Debian's rabbitmq-server package creates (apt-get install -y rabbitmq-server)",
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function chownTree(dir: string, uid: number, gid: number): void {
  spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
  chownSync(dir, uid, gid);
}

/** `connection_name` from rabbitmqctl's JSON client properties (a list of [key, type, value]). */
function connectionName(props: unknown): string | undefined {
  if (Array.isArray(props)) {
    for (const p of props) {
      if (Array.isArray(p) && p[0] === 'connection_name') return String(p[p.length - 1]);
    }
  } else if (props && typeof props === 'object') {
    const v = (props as Record<string, unknown>).connection_name;
    if (v !== undefined) return String(v);
  }
  return undefined;
}
