import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { countWriteCalls } from '@roomcast/testing';
import { coalesceWrites, corkForPass } from './cork';

/** A loopback TCP pair: what the client writes, as the server reads it, and its write calls. */
async function pair(): Promise<{
  client: Socket;
  received: () => string;
  writeCalls: () => number;
  close: () => Promise<void>;
}> {
  let data = '';
  const accepted: Socket[] = [];
  const server: Server = createServer((s) => {
    accepted.push(s);
    s.on('data', (d: Buffer) => (data += d.toString()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    received: () => data,
    writeCalls: countWriteCalls(client),
    close: async () => {
      client.destroy();
      for (const s of accepted) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function arrived(read: () => string, text: string): Promise<void> {
  for (let i = 0; i < 200 && read().length < text.length; i++) await turn();
  expect(read()).toBe(text);
}

describe('coalesceWrites', () => {
  it('leaves a plain socket writing each chunk on its own (the cost it removes)', async () => {
    const p = await pair();
    for (const c of ['a', 'b', 'c', 'd', 'e']) p.client.write(c);
    await arrived(p.received, 'abcde');
    expect(p.writeCalls()).toBe(5);
    await p.close();
  });

  it("writes one pass's chunks with one call, in order, and the next pass's with another", async () => {
    const p = await pair();
    coalesceWrites(p.client);
    coalesceWrites(p.client); // a second call changes nothing
    for (const c of ['a', 'b', 'c', 'd', 'e']) p.client.write(c);
    // Promise jobs of the same pass join the write.
    await Promise.resolve();
    p.client.write('f');
    await arrived(p.received, 'abcdef');
    expect(p.writeCalls()).toBe(1);
    p.client.write('g');
    p.client.write('h');
    await arrived(p.received, 'abcdefgh');
    expect(p.writeCalls()).toBe(2);
    await p.close();
  });

  it('calls each write callback once the chunk is written', async () => {
    const p = await pair();
    coalesceWrites(p.client);
    const done: string[] = [];
    p.client.write('x', () => done.push('x'));
    p.client.write('y', () => done.push('y'));
    expect(done).toEqual([]);
    await arrived(p.received, 'xy');
    for (let i = 0; i < 20 && done.length < 2; i++) await turn();
    expect(done).toEqual(['x', 'y']);
    await p.close();
  });

  it('leaves a destroyed socket alone: a late write fails as it would without it', async () => {
    const p = await pair();
    coalesceWrites(p.client);
    p.client.destroy();
    corkForPass(p.client);
    expect(p.client.writableCorked).toBe(0);
    const error = new Promise<unknown>((resolve) => p.client.write('late', resolve));
    await expect(error).resolves.toMatchObject({ code: 'ERR_STREAM_DESTROYED' });
    await p.close();
  });
});
