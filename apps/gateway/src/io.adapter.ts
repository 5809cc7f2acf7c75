import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { allowedOrigins } from '@roomcast/config';
import type { ServerOptions } from 'socket.io';
import type { GatewayEnv } from './config/gateway.env';

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
    return super.createIOServer(port, {
      ...(options as ServerOptions),
      maxHttpBufferSize: MAX_PAYLOAD_BYTES,
      cors: { origin: origins ?? true, credentials: true },
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        callback(null, !origins || origin === undefined || origins.includes(origin));
      },
    });
  }
}
