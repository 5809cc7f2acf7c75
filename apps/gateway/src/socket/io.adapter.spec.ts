import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { of } from 'rxjs';
import type { Socket } from 'socket.io';
import type { GatewayEnv } from '../config/gateway.env';
import { GatewayIoAdapter } from './io.adapter';

/** A socket stand-in: client events come in through `emit`, server emits are recorded. */
function fakeSocket() {
  const incoming = new EventEmitter();
  const sent: unknown[][] = [];
  const socket = {
    on: (event: string, fn: (...args: unknown[]) => void) => incoming.on(event, fn),
    emit: (...args: unknown[]) => sent.push(args),
  } as unknown as Socket;
  return { socket, incoming, sent };
}

function handler(
  message: string,
  callback: MessageMappingProperties['callback'],
  isAckHandledManually = false,
): MessageMappingProperties {
  return { message, methodName: message, callback, isAckHandledManually };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GatewayIoAdapter.bindMessageHandlers', () => {
  const adapter = new GatewayIoAdapter(
    { getHttpServer: () => undefined } as never,
    {} as GatewayEnv,
  );

  it('acks with what the handler returns, whether a value, a Promise or an Observable', async () => {
    const { socket, incoming } = fakeSocket();
    const seen: unknown[] = [];
    adapter.bindMessageHandlers(
      socket,
      [
        handler('sync', ((data: unknown) => ({ ok: true, data })) as never),
        handler('async', (async (data: unknown) => ({ ok: true, data })) as never),
        handler('stream', ((data: unknown) => of({ ok: true, data })) as never),
        handler('deferred', (async (data: unknown) => of({ ok: true, data })) as never),
      ],
      undefined,
    );
    for (const event of ['sync', 'async', 'stream', 'deferred']) {
      incoming.emit(event, { room: event }, (ack: unknown) => seen.push(ack));
    }
    await tick();
    // Values and Observables ack at once, Promises a tick later.
    expect(seen).toEqual([
      { ok: true, data: { room: 'sync' } },
      { ok: true, data: { room: 'stream' } },
      { ok: true, data: { room: 'async' } },
      { ok: true, data: { room: 'deferred' } },
    ]);
  });

  it('passes a payload without an ack, and emits { event, data } results to the socket', async () => {
    const { socket, incoming, sent } = fakeSocket();
    const got: unknown[] = [];
    adapter.bindMessageHandlers(
      socket,
      [
        handler('noack', ((data: unknown) => {
          got.push(data);
          return undefined;
        }) as never),
        handler('echo', ((data: unknown) => ({ event: 'echoed', data })) as never),
      ],
      undefined,
    );
    incoming.emit('noack', { a: 1 });
    incoming.emit('echo', 'hi');
    await tick();
    expect(got).toEqual([{ a: 1 }]);
    expect(sent).toEqual([['echoed', 'hi']]);
  });

  it('logs a handler that throws or rejects, answers nothing, and keeps serving the socket', async () => {
    const { socket, incoming } = fakeSocket();
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const acks: unknown[] = [];
    let calls = 0;
    adapter.bindMessageHandlers(
      socket,
      [
        handler('boom', (() => {
          calls++;
          throw new Error('sync failure');
        }) as never),
        handler('reject', (async () => {
          throw new Error('async failure');
        }) as never),
        handler('ok', (async () => ({ ok: true })) as never),
      ],
      undefined,
    );
    incoming.emit('boom', {}, (a: unknown) => acks.push(a));
    incoming.emit('reject', {}, (a: unknown) => acks.push(a));
    incoming.emit('boom', {}, (a: unknown) => acks.push(a));
    incoming.emit('ok', {}, (a: unknown) => acks.push(a));
    await tick();
    expect(calls).toBe(2);
    expect(acks).toEqual([{ ok: true }]);
    expect(errors.mock.calls.map(([e]) => (e as Error).message)).toEqual([
      'sync failure',
      'sync failure',
      'async failure',
    ]);
    errors.mockRestore();
  });

  it('leaves the ack to a handler that answers it itself', async () => {
    const { socket, incoming } = fakeSocket();
    const acks: unknown[] = [];
    adapter.bindMessageHandlers(
      socket,
      [
        handler(
          'manual',
          ((_data: unknown, ack: (v: unknown) => void) => {
            ack('by hand');
            return { ok: true };
          }) as never,
          true,
        ),
      ],
      undefined,
    );
    incoming.emit('manual', {}, (a: unknown) => acks.push(a));
    await tick();
    expect(acks).toEqual(['by hand']);
  });
});
