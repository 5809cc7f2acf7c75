import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { WebhookSigner } from '@roomcast/delivery';
import { ROOT, snippets } from './readme-snippets';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const body = '{"id":"e1","type":"member.joined","ts":1,"data":{"room":"r","user":{"id":"u"}}}';

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The receivers the docs give (README's receiver.mjs, docs/webhooks.md's verify-webhook.cjs),
 * written with the Standard Webhooks reference verifier, run against what roomcast's sender
 * signs: they accept it, and refuse a tampered body, another secret or an old timestamp.
 */
describe("the docs' webhook receivers accept roomcast's signatures (standardwebhooks)", () => {
  // Inside the repository, where the snippets find standardwebhooks as a reader's copy would.
  mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, 'test-output', 'receiver-'));
  let receiver: ChildProcess | undefined;
  afterAll(() => {
    receiver?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('verify-webhook.cjs (docs/webhooks.md) accepts the signed event and refuses changes', () => {
    const snippet = snippets('docs/webhooks.md').find((b) => b.file === 'verify-webhook.cjs');
    if (!snippet) throw new Error('docs/webhooks.md has no verify-webhook.cjs snippet');
    const file = path.join(dir, 'verify-webhook.cjs');
    writeFileSync(file, snippet.code);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { verifyWebhook } = require(file) as {
      verifyWebhook: (secret: string, raw: string, headers: Record<string, string>) => unknown;
    };
    const now = Date.now();
    const headers = { ...new WebhookSigner(SECRET).headers('e1', body, now) };
    expect(verifyWebhook(SECRET, body, headers)).toEqual(JSON.parse(body));
    const refused = (raw: string, h: Record<string, string>, secret = SECRET) =>
      expect(() => verifyWebhook(secret, raw, h)).toThrow();
    refused(body.replace('"u"', '"v"'), headers);
    refused(body, { ...headers, 'webhook-id': 'e2' });
    refused(body, headers, `whsec_${randomBytes(32).toString('base64')}`);
    refused(body, { ...new WebhookSigner(SECRET).headers('e1', body, now - 301_000) });
    refused(body, { ...headers, 'webhook-signature': 'v1,garbage' });
  });

  it("README's receiver.mjs answers 204 to a signed event and 401 to a tampered one", async () => {
    const snippet = snippets().find((s) => s.file === 'receiver.mjs');
    if (!snippet) throw new Error('README has no receiver.mjs snippet');
    const port = await freePort();
    const code = snippet.code.replace('.listen(4000)', `.listen(${port}, '127.0.0.1')`);
    expect(code).not.toBe(snippet.code);
    const file = path.join(dir, 'receiver.mjs');
    writeFileSync(file, code);
    receiver = spawn(process.execPath, [file], {
      env: { ...process.env, WEBHOOK_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    receiver.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const post = async (raw: string, headers: Record<string, string>) => {
      for (let i = 0; ; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/hooks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: raw,
          });
          return res.status;
        } catch (err) {
          if (i > 50) throw new Error(`receiver.mjs is not answering: ${out}`, { cause: err });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const headers = { ...new WebhookSigner(SECRET).headers('e1', body) };
    expect(await post(body, headers)).toBe(204);
    expect(await post(body.replace('"u"', '"v"'), headers)).toBe(401);
    expect(out).toContain('member.joined {"room":"r","user":{"id":"u"}}');
  });
});
