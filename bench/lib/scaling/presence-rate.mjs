// Presence events one replica applies per second, measured as bench/presence.mjs does: a stand-in
// gateway (a queue of its own named as a gateway's, so presence's liveness check keeps it, and
// heartbeats) sends connect + join requests for `sockets` sockets, `INFLIGHT` sockets at a time,
// each socket's join after its connect is answered; one presence replica applies them. Here the
// broker may be a RabbitMQ cluster (presence and the stand-in on different nodes); the presence
// queue is the quorum queue presence declares (one replica on one node, three on a cluster).
import { fmt, log } from '../log.mjs';
import { standInGateway } from '../stand-in.mjs';
import { round } from '../stats.mjs';
import { cpuWindow, startServices } from './common.mjs';

/**
 * One measure: `presenceUrl` for the presence replica, `standInUrl` for the stand-in gateway,
 * `presenceEnv` for the queue's kind; `brokerProcs` and `redisPid` for the CPU per change.
 */
export async function measurePresenceRate({
  label,
  prefix,
  presenceUrl,
  standInUrl,
  cleanupAmqpUrl,
  presenceEnv = {},
  brokerProcs,
  redisPid,
  sockets,
}) {
  const services = await startServices({
    prefix,
    gateways: 0,
    amqpUrlFor: (name) => (name === 'presence' ? presenceUrl : standInUrl),
    cleanupAmqpUrl,
    presenceEnv,
  });
  try {
    const gw = await standInGateway({
      amqpUrl: standInUrl,
      exchange: services.env.EXCHANGE,
      instanceId: `${prefix}-standin`,
    });
    try {
      const procs = [
        { name: 'presence', pid: services.presence.pid },
        { name: 'redis', pid: redisPid },
        ...brokerProcs,
      ];
      const w = await cpuWindow(procs, () => gw.fill('rate', 0, sockets));
      const changes = 2 * sockets;
      const r = {
        label,
        sockets,
        changesPerSec: round(changes / w.wallS, 0),
        presenceCores: w.cores('presence'),
        presenceUsPerChange: w.per('presence', changes),
        redisUsPerChange: w.per('redis', changes),
        brokerUsPerChange: w.per('rabbit', changes),
        brokerCores: w.cores('rabbit'),
      };
      log(
        `  presence ${label}: ${r.changesPerSec} changes/s, presence ${fmt(r.presenceCores, 2)} cores ` +
          `(${fmt(r.presenceUsPerChange, 0)} µs/change), broker ${fmt(r.brokerUsPerChange, 0)} µs/change, ` +
          `redis ${fmt(r.redisUsPerChange, 0)} µs/change`,
      );
      return r;
    } finally {
      await gw.close();
    }
  } finally {
    await services.stop();
  }
}
