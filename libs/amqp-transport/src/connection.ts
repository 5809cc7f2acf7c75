import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import {
  CLUSTER_RECONNECT_SECONDS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RECONNECT_SECONDS,
} from './amqp.constants';
import { BrokerUnreachableError } from './amqp.errors';
import type { AmqpConnectionOptions } from './amqp.interfaces';

/**
 * Opens a managed connection and waits for its first connect, so a broker that is down fails
 * start-up with every URL tried named; after that, amqp-connection-manager reconnects on its
 * own, to the next URL of the list each time (a cluster's next node).
 */
export async function openConnection(
  options: AmqpConnectionOptions,
): Promise<AmqpConnectionManager> {
  const connection = amqp.connect(options.urls, {
    heartbeatIntervalInSeconds: options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
    reconnectTimeInSeconds:
      options.urls.length > 1 ? CLUSTER_RECONNECT_SECONDS : DEFAULT_RECONNECT_SECONDS,
    // Small frames (a request, its answer, a confirm) go out at once, not after Nagle's wait.
    connectionOptions: {
      noDelay: true,
      ...(options.name ? { clientProperties: { connection_name: options.name } } : {}),
    },
  });
  // Without a listener, a failed connect attempt would be an unhandled 'error' event.
  const failures = new Map<string, string>();
  connection.on('connectFailed', ({ err, url }) => {
    if (typeof url === 'string') failures.set(url, err.message);
  });
  try {
    await connection.connect({ timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
  } catch (err) {
    await connection.close().catch(() => undefined);
    // One line naming every URL and what each answered (a URL never reached: 'not tried').
    throw new BrokerUnreachableError(
      options.urls,
      options.urls.map((u) => failures.get(u) ?? 'not tried'),
      err,
    );
  }
  return connection;
}

/** Fails start-up with the URL named when the broker does not answer. */
export async function probeBroker(options: AmqpConnectionOptions): Promise<void> {
  const connection = await openConnection(options);
  await connection.close();
}
