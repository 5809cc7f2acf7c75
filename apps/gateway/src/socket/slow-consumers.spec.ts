import { Registry } from 'prom-client';
import type { GatewayEnv } from '../config/gateway.env';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import type { ChatSocket } from './chat-socket';
import type { LocalDelivery } from '../fanout/local-delivery';
import { SlowConsumers } from './slow-consumers';

/** A socket holding `bytes` unread, as engine.io and ws keep them. */
function fakeSocket(bytes: number) {
  const socket = {
    id: 's1',
    handshake: { address: '127.0.0.1' },
    disconnected: false,
    terminated: 0,
    /** What the socket was sent, in order: `session:end` before the cut. */
    said: [] as unknown[],
    emit(event: string, payload: unknown) {
      socket.said.push([event, payload, socket.disconnected ? 'after' : 'before']);
    },
    conn: {
      writeBuffer: [{ data: 'x'.repeat(bytes) }],
      transport: { socket: { bufferedAmount: 0, terminate: () => socket.terminated++ } },
      close: () => undefined,
    },
    disconnect() {
      socket.disconnected = true;
    },
  };
  return socket;
}

describe('SlowConsumers', () => {
  const make = () => {
    const metrics = new GatewayMetrics(new Registry());
    const slow = new SlowConsumers(
      { MAX_BUFFERED_BYTES: 1000 } as GatewayEnv,
      { localSockets: () => [] } as unknown as LocalDelivery,
      metrics,
    );
    return { slow, metrics };
  };

  it('lets a socket under the bound through', () => {
    const { slow, metrics } = make();
    const socket = fakeSocket(500);
    expect(slow.check(socket as unknown as ChatSocket)).toBe(true);
    expect(socket.disconnected).toBe(false);
    return expect(metrics.slowConsumers.get()).resolves.toMatchObject({ values: [{ value: 0 }] });
  });

  it('cuts a socket over the bound off once, however many of its requests are still in flight', async () => {
    const { slow, metrics } = make();
    const socket = fakeSocket(5000);
    expect(slow.check(socket as unknown as ChatSocket)).toBe(false);
    expect(slow.check(socket as unknown as ChatSocket)).toBe(false);
    expect(slow.check(socket as unknown as ChatSocket)).toBe(false);
    expect(socket.disconnected).toBe(true);
    expect(socket.terminated).toBe(1);
    // Told why (and that coming back can work) before the cut, once.
    expect(socket.said).toEqual([
      ['session:end', { reason: 'slow_consumer', retry: true }, 'before'],
    ]);
    expect((await metrics.slowConsumers.get()).values[0].value).toBe(1);
  });
});
