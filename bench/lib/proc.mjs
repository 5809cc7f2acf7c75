// Reading CPU time of processes from /proc, and finding the broker and Redis.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (Linux's usual USER_HZ when getconf fails). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime and stime of one process (all its threads), in µs; null when it is gone. */
function cpuTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      user: (Number(fields[11]) * 1e6) / CLK_TCK,
      sys: (Number(fields[12]) * 1e6) / CLK_TCK,
    };
  } catch {
    return null;
  }
}

/** utime + stime of one process, in µs; null when it is gone. */
export function cpuMicros(pid) {
  const t = cpuTimes(pid);
  return t ? t.user + t.sys : null;
}

/** Busy and total CPU time of the whole machine (all cores), in µs, from /proc/stat. */
export function machineMicros() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return { busy: ((total - idle) * 1e6) / CLK_TCK, total: (total * 1e6) / CLK_TCK };
}

function processes() {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push({ pid: Number(entry), comm, cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * The redis-server serving `redisUrl`'s port and the RabbitMQ node (beam.smp running `rabbit`).
 * Their CPU is part of a system's cost whenever the system uses them.
 */
export function findInfrastructure(redisUrl) {
  const port = new URL(redisUrl).port || '6379';
  const all = processes();
  const redis = all.filter((p) => p.comm === 'redis-server');
  const redisPid =
    redis.find((p) => p.cmdline.includes(`:${port}`))?.pid ??
    (redis.length === 1 ? redis[0].pid : undefined);
  // BENCH_BEAM_PID: the broker's pid when AMQP_URL names a RabbitMQ node of one's own.
  const beamPid =
    Number(process.env.BENCH_BEAM_PID) ||
    all.find((p) => p.comm.startsWith('beam.smp') && / rabbit\b/.test(p.cmdline))?.pid;
  return { redisPid, beamPid };
}

/** CPU times of each named process now: { name: { user, sys } µs }. */
export function snapshotCpu(procs) {
  const snap = {};
  for (const { name, pid } of procs) snap[name] = cpuTimes(pid);
  return snap;
}

/** Per-process CPU µs (user + sys) between two snapshots, their sum, and the sys part. */
export function cpuDelta(before, after) {
  const per = {};
  let total = 0;
  let sys = 0;
  for (const name of Object.keys(after)) {
    if (!before[name] || !after[name]) continue;
    per[name] = after[name].user + after[name].sys - before[name].user - before[name].sys;
    total += per[name];
    sys += after[name].sys - before[name].sys;
  }
  return { per, total, sys };
}

/** Sum of the µs of the processes whose name starts with `prefix` (of cpuDelta's `per`). */
export const sumUs = (us, prefix) =>
  Object.entries(us)
    .filter(([n]) => n.startsWith(prefix))
    .reduce((a, [, v]) => a + v, 0);

/** Write system calls (write, writev, sendto...) one process has made so far; null when gone. */
export function writeCalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/^syscw:\s*(\d+)/m.exec(io)?.[1] ?? NaN);
  } catch {
    return null;
  }
}
