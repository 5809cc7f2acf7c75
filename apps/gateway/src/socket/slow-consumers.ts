import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { ServerEvent } from '@roomcast/contracts';
import { GATEWAY_CONFIG, type GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import type { ChatSocket } from './chat-socket';
import { LocalDelivery } from '../fanout/local-delivery';

/** engine.io internals read here: the packets not yet handed to the transport, and ws's buffer. */
interface EngineConnection {
  writeBuffer?: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

/**
 * Bytes a socket has been sent but has not taken yet, counted until `limit` is passed: what
 * engine.io holds while its transport is busy, and what the WebSocket has not written out.
 */
export function outgoingBytes(socket: ChatSocket, limit = Infinity): number {
  const conn = socket.conn as unknown as EngineConnection;
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer ?? []) {
    if (bytes > limit) break;
    const data = packet.data;
    bytes += typeof data === 'string' ? data.length : Buffer.isBuffer(data) ? data.length : 16;
  }
  return bytes;
}

const SWEEP_MS = 1000;

/**
 * Disconnects a client that does not read what it is sent, before the gateway holds its output
 * without bound: checked before each of its requests is answered, and every second for the
 * room traffic it is only fed.
 */
@Injectable()
export class SlowConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SlowConsumers.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayEnv,
    private readonly delivery: LocalDelivery,
    private readonly metrics: GatewayMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** False (and the socket disconnected) when the socket's unread output is past the bound. */
  check(socket: ChatSocket): boolean {
    // Requests already in flight when it was cut off answer nothing, and count no second time.
    if (socket.disconnected) return false;
    const limit = this.config.MAX_BUFFERED_BYTES;
    const bytes = outgoingBytes(socket, limit);
    if (bytes <= limit) return true;
    this.logger.warn(
      `disconnected ${socket.id} (${socket.handshake.address}): ${bytes} bytes unread, over ${limit}`,
    );
    this.metrics.slowConsumers.inc();
    // Said first, though a client this far behind may never read it: retrying can work.
    socket.emit(ServerEvent.SessionEnd, { reason: 'slow_consumer', retry: true });
    socket.disconnect(true);
    // A graceful close would wait for the output to drain, or for ws's 30 s close timeout: drop
    // the connection and what it holds now.
    const conn = socket.conn as unknown as EngineConnection;
    const ws = conn.transport?.socket;
    if (typeof ws?.terminate === 'function') ws.terminate();
    else conn.close(true);
    return false;
  }

  sweep(): void {
    for (const socket of this.delivery.localSockets()) this.check(socket);
  }
}
