import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { signWebhook } from '@roomcast/delivery';
import { snippets } from './readme-snippets';

type Verify = (secret: string, rawBody: string, header: string, now?: number) => boolean;

/** The docs' webhook verification helper (docs/webhooks.md), run against the sender's signatures. */
describe('the webhook verification helper of docs/webhooks.md (verify-webhook.cjs)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-verify-'));
  let verifyWebhook: Verify;
  const secret = 'receiver-secret-0123456789';
  const body = '{"id":"e1","type":"member.joined","ts":1,"data":{"room":"r","user":{"id":"u"}}}';
  const now = 1_765_000_000_000;

  beforeAll(() => {
    const snippet = snippets('docs/webhooks.md').find((b) => b.file === 'verify-webhook.cjs');
    if (!snippet) throw new Error('docs/webhooks.md has no verify-webhook.cjs snippet');
    const file = path.join(dir, 'verify-webhook.cjs');
    writeFileSync(file, snippet.code);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ verifyWebhook } = require(file) as { verifyWebhook: Verify });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts what the sender signs', () => {
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now), now)).toBe(true);
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now - 299_000), now)).toBe(true);
  });

  it('refuses another body, another secret, an old or future time and malformed headers', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(secret, body.replace('"u"', '"v"'), header, now)).toBe(false);
    expect(verifyWebhook('another-secret-0123456789', body, header, now)).toBe(false);
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now - 301_000), now)).toBe(false);
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now + 301_000), now)).toBe(false);
    for (const bad of ['', 'garbage', header.replace(/v1=\w+/, 'v1=zz'), header.slice(0, -2)])
      expect(verifyWebhook(secret, body, bad, now)).toBe(false);
    expect(verifyWebhook(secret, body, undefined as unknown as string, now)).toBe(false);
  });
});
