import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { allowedOrigins } from '@roomcast/config';
import { isObservable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { GatewayEnv } from '../config/gateway.env';
import { coalesceConnectionWrites } from './write-coalescing';

/** The largest payload a client may send; larger frames are cut off by the transport. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/**
 * Socket.IO server options that come from config: the payload cap, and the Origin allowlist.
 * CORS does not cover WebSockets, so the Origin header is checked in `allowRequest` for every
 * transport; requests without an Origin (non-browser clients) are let through.
 */
export class GatewayIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: GatewayEnv,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: Partial<ServerOptions>) {
    const origins = allowedOrigins(this.config);
    const server: Server = super.createIOServer(port, {
      ...(options as ServerOptions),
      maxHttpBufferSize: MAX_PAYLOAD_BYTES,
      cors: { origin: origins ?? true, credentials: true },
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        callback(null, !origins || origin === undefined || origins.includes(origin));
      },
    });
    server.engine.on('connection', coalesceConnectionWrites);
    return server;
  }

  /**
   * Binds each @SubscribeMessage handler with a plain `socket.on`, instead of Nest's default of
   * one rxjs pipeline (fromEvent, mergeMap, takeUntil) per handler per socket. Same contract:
   * the handler's result (value, Promise or Observable) is the ack, `{ event, data }` is
   * emitted, a thrown error is logged. It halves the heap an idle connection holds and takes
   * rxjs off every event's path (docs/benchmarks/README.md).
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    _transform: unknown,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        // As rxjs fromEvent: one argument as itself, several as an array.
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
        const respond = (response: unknown) => {
          if (response === null || response === undefined) return;
          const { event, data: eventData } = response as { event?: string; data?: unknown };
          if (event) socket.emit(event, eventData);
          else if (!isAckHandledManually && typeof ack === 'function') ack(response);
        };
        const fail = (err: unknown) => this.logger.error(err);
        const settle = (result: unknown) => {
          if (isObservable(result)) result.subscribe({ next: respond, error: fail });
          else respond(result);
        };
        try {
          const result: unknown = callback(data, ack);
          if (result instanceof Promise) result.then(settle, fail);
          else settle(result);
        } catch (err) {
          fail(err);
        }
      });
    }
  }
}
