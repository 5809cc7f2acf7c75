import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import Ajv, { type ValidateFunction } from 'ajv';
import {
  connectClient,
  requireServices,
  startCluster,
  waitFor,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const API_TOKEN = 'openapi-api-token-0123456789';
const STATS_TOKEN = 'openapi-stats-token-0123456789';
/** Failed sign-ins an address may make: the 429 case trips it from 127.0.0.2 only. */
const SIGNIN_MAX_FAILURES = 3;
/** Routes the api service serves on purpose outside the document (docs/webhooks.md says why). */
const UNDOCUMENTED = /^\/admin(\/|$)/;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Json = Record<string, unknown>;
interface MediaType {
  schema: Json;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
interface Operation {
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, ResponseObject>;
  security?: Record<string, string[]>[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}
interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
}

/** One HTTP request by node:http (which can pick the local address the server sees). */
function send(
  url: string,
  method: Method,
  headers: Record<string, string>,
  body?: string,
  localAddress?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // A length always: node sends a DELETE's body unframed otherwise.
    const framed =
      body === undefined
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method, headers: framed, localAddress, timeout: 10000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(res.headers['content-type'] ?? '');
        let json: unknown;
        if (contentType.startsWith('application/json')) json = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, contentType, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * What @apidevtools/swagger-parser's validate() says of `doc`: undefined when it accepts it, else
 * its message. In a node process of its own: the validator's dependencies are ES modules, which
 * Jest's CommonJS runtime cannot load (node itself can).
 */
function swaggerParserVerdict(doc: unknown): Promise<string | undefined> {
  const script = `
    const SwaggerParser = require('@apidevtools/swagger-parser');
    let text = '';
    process.stdin.on('data', (d) => (text += d)).on('end', () =>
      SwaggerParser.validate(JSON.parse(text)).then(
        () => process.stdout.write('valid'),
        (err) => process.stdout.write(err.message),
      ),
    );`;
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['-e', script],
      { cwd: path.resolve(__dirname, '../..'), timeout: 20000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`swagger-parser did not run: ${err.message} ${stderr}`));
        else resolve(stdout === 'valid' ? undefined : stdout);
      },
    );
    child.stdin?.end(JSON.stringify(doc));
  });
}

const SCHEMA_BASE = 'https://roomcast.test/openapi/schemas/';

/**
 * A schema of the document made strict for the test: `$ref`s to components point at the
 * components added to ajv under SCHEMA_BASE, and an object schema that lists its properties and
 * says nothing of others gets `additionalProperties: false`, so a field the document does not
 * describe fails (the document itself stays open to additions, as OpenAPI's default is).
 */
function strictSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$ref' && typeof value === 'string') {
      const name = /^#\/components\/schemas\/(.+)$/.exec(value)?.[1];
      if (!name) throw new Error(`a $ref outside components.schemas: ${value}`);
      out.$ref = SCHEMA_BASE + name;
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Json).map(([p, s]) => [p, strictSchema(s)]),
      );
    } else out[key] = strictSchema(value);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

/**
 * The api service's OpenAPI document (/api/docs-json), checked by a maintained third-party
 * validator (@apidevtools/swagger-parser), and every route of it called on a running cluster:
 * each answer's status must be one the document lists for the route, and its body must match
 * that status's schema (ajv, with OpenAPI 3.0's `nullable`). Every documented route is called,
 * and every route the service serves is documented (from the routes Nest says it mapped), but
 * the operations page's.
 */
describe('OpenAPI document of the api service (1 gateway, webhooks to a failing receiver)', () => {
  let cluster: TestCluster;
  let receiver: Server;
  let rulesDir: string;
  let doc: Document;
  const clients: TestClient[] = [];
  const ajv = new Ajv({ allErrors: true, strict: true });
  // OpenAPI 3.0's annotations beside JSON Schema's (ajv knows `nullable` itself).
  ajv.addVocabulary(['example', 'xml', 'externalDocs']);
  const validators = new Map<string, ValidateFunction>();
  /** `METHOD /route` of every call, and `METHOD /route status` of every answer. */
  const called = new Set<string>();
  const answered = new Set<string>();
  const uniq = Math.random().toString(36).slice(2, 8);
  /** A room the rules file gives a rule, and one it does not. */
  const ruled = `oa-${uniq}`;
  const plain = `plain-${uniq}`;

  const validator = (key: string, schema: Json): ValidateFunction => {
    let v = validators.get(key);
    if (!v) {
      v = ajv.compile(strictSchema(schema) as Json);
      validators.set(key, v);
    }
    return v;
  };

  interface CallOptions {
    params?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    /** Sent as is, with content-type application/json (for a body that does not parse). */
    rawBody?: string;
    headers?: Record<string, string>;
    /** The token to send: by default the one the route's security names; null: none. */
    token?: string | null;
    localAddress?: string;
    /** The status the case expects (the answer is checked against the document whatever it is). */
    expect: number;
  }

  /**
   * Calls a documented route and checks the answer against the document: a status it lists for
   * the route, the media type it lists for that status, a body its schema accepts.
   */
  async function call(method: Method, route: string, o: CallOptions): Promise<Answer> {
    const op = doc.paths[route]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${route} is not in the document`);
    const url = `${cluster.api.url}${route.replace(/\{(\w+)\}/g, (_, p: string) => {
      const value = o.params?.[p];
      if (value === undefined) throw new Error(`no value for {${p}} of ${route}`);
      return encodeURIComponent(value);
    })}${o.query ? `?${new URLSearchParams(o.query).toString()}` : ''}`;
    const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
    const token =
      o.token !== undefined
        ? o.token
        : schemes.includes('API_TOKEN')
          ? API_TOKEN
          : schemes.includes('STATS_TOKEN')
            ? STATS_TOKEN
            : null;
    const body = o.rawBody ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined);
    const answer = await send(
      url,
      method,
      {
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      body,
      o.localAddress,
    );
    const what = `${method} ${route} → ${answer.status} ${answer.text.slice(0, 300)}`;
    called.add(`${method} ${route}`);
    answered.add(`${method} ${route} ${answer.status}`);
    const documented = op.responses[String(answer.status)];
    if (!documented)
      throw new Error(
        `${what}: the document lists only ${Object.keys(op.responses).join(', ')} for it`,
      );
    if (!documented.content) {
      if (answer.text !== '') throw new Error(`${what}: the document says no body`);
    } else {
      const type = answer.contentType.split(';')[0].trim();
      const media = documented.content[type];
      if (!media)
        throw new Error(
          `${what}: content-type ${answer.contentType}; documented: ${Object.keys(documented.content).join(', ')}`,
        );
      const v = validator(`${method} ${route} ${answer.status} ${type}`, media.schema);
      const value = type === 'application/json' ? answer.json : answer.text;
      if (!v(value))
        throw new Error(
          `${what}: the body does not match the document: ${ajv.errorsText(v.errors)}`,
        );
    }
    // A request the service took must be one the document describes.
    if (answer.status < 300 && o.body !== undefined) {
      const media = op.requestBody?.content['application/json'];
      if (!media) throw new Error(`${what}: took a body the document does not describe`);
      const v = validator(`${method} ${route} request`, media.schema);
      if (!v(o.body))
        throw new Error(
          `${what}: the document refuses the body it took: ${ajv.errorsText(v.errors)}`,
        );
    }
    if (answer.status !== o.expect) throw new Error(`${what}: expected ${o.expect}`);
    return answer;
  }

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    // A webhook receiver that always fails: with one attempt, every event is a dead letter.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    rulesDir = mkdtempSync(path.join(tmpdir(), 'roomcast-openapi-'));
    const rules = path.join(rulesDir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ rules: { 'oa-': { maxMembers: 10, typing: false } } }));
    cluster = await startCluster({
      label: 'openapi',
      gateways: 1,
      env: { ROOM_RULES: rules },
      // debug: Nest's "Mapped {route, METHOD}" lines, the routes the service serves.
      apiEnv: {
        API_TOKEN,
        STATS_TOKEN,
        SIGNIN_MAX_FAILURES: String(SIGNIN_MAX_FAILURES),
        LOG_LEVEL: 'debug',
      },
      presenceEnv: {
        WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
        WEBHOOK_MAX_ATTEMPTS: '1',
        WEBHOOK_RETRY_MS: '10',
        WEBHOOK_REORDER_MS: '0',
      },
    });
    const res = await send(`${cluster.api.url}/api/docs-json`, 'GET', {});
    expect([res.status, res.contentType.split(';')[0]]).toEqual([200, 'application/json']);
    doc = res.json as Document;
    for (const [name, schema] of Object.entries(doc.components.schemas))
      ajv.addSchema(strictSchema(schema) as Json, SCHEMA_BASE + name);
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
  }, 30000);

  it('is a valid OpenAPI 3.0 document by swagger-parser, served without credentials', async () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(await swaggerParserVerdict(doc)).toBeUndefined();
    // The validator is no rubber stamp: a response without its required description fails.
    const broken = structuredClone(doc);
    delete (broken.paths['/health'].get.responses['200'] as { description?: string }).description;
    expect(await swaggerParserVerdict(broken)).toMatch(/description/);
    // Every security requirement names a scheme the document defines.
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    const named = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).flatMap((op) => (op.security ?? []).flatMap((s) => Object.keys(s))),
    );
    expect(named.filter((n) => !schemes.has(n))).toEqual([]);
    const page = await send(`${cluster.api.url}/api/docs`, 'GET', {});
    expect([page.status, page.contentType.split(';')[0]]).toEqual([200, 'text/html']);
  }, 30000);

  it('documents every route the service serves, but the operations page', () => {
    const log = stripVTControlCharacters(cluster.api.logs.join(''));
    const served = [...log.matchAll(/Mapped \{(\S+), (GET|POST|PUT|DELETE|PATCH)\} route/g)].map(
      ([, route, method]) => `${method} ${route.replace(/:(\w+)/g, '{$1}')}`,
    );
    const documented = Object.entries(doc.paths).flatMap(([route, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${route}`),
    );
    expect(served.length).toBeGreaterThan(10);
    expect(served.filter((r) => !UNDOCUMENTED.test(r.split(' ')[1])).sort()).toEqual(
      [...documented].sort(),
    );
    // What is left out is the operations page, and it is served.
    expect(served.filter((r) => UNDOCUMENTED.test(r.split(' ')[1])).sort()).toEqual([
      'GET /admin',
      'GET /admin/rules',
      'GET /admin/state',
    ]);
  });

  it('answers the operations endpoints as documented', async () => {
    await call('GET', '/health', { expect: 200 });
    await call('GET', '/ready', { expect: 200 });
    await call('GET', '/ready', { token: null, expect: 401 });
    const metrics = await call('GET', '/metrics', { expect: 200 });
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    await call('GET', '/metrics', { token: null, expect: 401 });
  });

  it('answers the Stats API as documented, with members, a page cursor and rules', async () => {
    const [gw] = cluster.gateways;
    for (const name of ['Ada', 'Bo']) {
      const c = await connectClient(gw.url, name);
      clients.push(c);
      for (const room of [ruled, plain]) await c.ok('room:join', { room });
    }
    await waitFor(async () => (await cluster.getStats()).rooms >= 2, 5000, 'both rooms in /stats');
    const stats = await call('GET', '/stats', { expect: 200 });
    expect((stats.json as { instances: unknown[] }).instances).toHaveLength(1);
    // The schemas are no rubber stamp: a field more, a field less or a wrong type fails.
    const schema = doc.paths['/stats'].get.responses['200'].content?.['application/json'].schema;
    const accepts = ajv.compile(strictSchema(schema) as Json);
    const { online, ...withoutOnline } = stats.json as Json;
    expect([
      accepts(stats.json),
      accepts({ ...(stats.json as Json), metrics: {} }),
      accepts(withoutOnline),
      accepts({ ...(stats.json as Json), online: String(online) }),
    ]).toEqual([true, false, false, false]);
    await call('GET', '/stats', { token: null, expect: 401 });
    await call('GET', '/stats', { token: 'wrong-token-wrong-token', expect: 401 });
    const top = await call('GET', '/stats/rooms', { query: { limit: '5' }, expect: 200 });
    expect((top.json as { rooms: unknown[] }).rooms.length).toBeGreaterThanOrEqual(2);
    await call('GET', '/stats/rooms', { query: { limit: '0' }, expect: 400 });
    await call('GET', '/stats/rooms', { query: { other: '1' }, expect: 400 });
    const routing = await call('GET', '/stats/routing', { query: { limit: '1' }, expect: 200 });
    expect(routing.json).toMatchObject({ next: expect.any(String) });
    await call('GET', '/stats/routing', { query: { cursor: 'not-ours' }, expect: 400 });
    const page = await call('GET', '/stats/rooms/{room}', {
      params: { room: ruled },
      query: { limit: '1' },
      expect: 200,
    });
    expect(page.json).toMatchObject({
      users: 2,
      next: expect.any(String),
      rule: { prefix: 'oa-', maxMembers: 10, typing: false },
    });
    const unruled = await call('GET', '/stats/rooms/{room}', {
      params: { room: plain },
      expect: 200,
    });
    expect(unruled.json).toMatchObject({ rule: { prefix: null, maxMembers: null } });
    await call('GET', '/stats/rooms/{room}', { params: { room: 'a.b' }, expect: 400 });
  });

  it('answers publish and a moderator deletion as documented, errors included', async () => {
    const user = { id: 'backend-bot', name: 'Bot' };
    const route = '/api/rooms/{room}/messages';
    const sent = await call('POST', route, {
      params: { room: plain },
      body: { text: 'hello', user },
      headers: { 'idempotency-key': `k-${uniq}` },
      expect: 201,
    });
    await call('POST', route, {
      params: { room: plain },
      body: { text: 'another body', user },
      headers: { 'idempotency-key': `k-${uniq}` },
      expect: 422,
    });
    await call('POST', route, { params: { room: plain }, body: { text: 'x' }, expect: 400 });
    await call('POST', route, { params: { room: plain }, rawBody: '{"text":', expect: 400 });
    await call('POST', route, {
      params: { room: plain },
      body: { text: 'x', user },
      token: null,
      expect: 401,
    });
    const id = (sent.json as { id: string }).id;
    const del = '/api/rooms/{room}/messages/{id}';
    await call('DELETE', del, { params: { room: plain, id }, body: { user }, expect: 200 });
    await call('DELETE', del, {
      params: { room: plain, id: 'no-such-message' },
      body: { user },
      expect: 404,
    });
    await call('DELETE', del, { params: { room: plain, id }, body: {}, expect: 400 });
  });

  it('answers 429 past the sign-in limit, on the Stats API and the server API alike', async () => {
    // From an address of its own, so the rest of the suite signs in as usual.
    const from = '127.0.0.2';
    for (let i = 0; i < SIGNIN_MAX_FAILURES; i++)
      await call('GET', '/stats', {
        token: 'wrong-token-wrong-token',
        localAddress: from,
        expect: 401,
      });
    await call('GET', '/stats', { localAddress: from, expect: 429 });
    await call('POST', '/api/rooms/{room}/messages', {
      params: { room: plain },
      body: { text: 'x', user: { id: 'u', name: 'U' } },
      localAddress: from,
      expect: 429,
    });
  });

  it('answers the webhook dead letters as documented', async () => {
    const route = '/api/webhooks/dead-letters';
    let listed: { total: number; deadLetters: { id: string }[] } = { total: 0, deadLetters: [] };
    await waitFor(
      async () => {
        listed = (await call('GET', route, { query: { limit: '100' }, expect: 200 })).json as {
          total: number;
          deadLetters: { id: string }[];
        };
        return listed.total > 0;
      },
      10000,
      'a dead letter',
    );
    await call('GET', route, { query: { limit: '0' }, expect: 400 });
    await call('GET', route, { token: null, expect: 401 });
    const replay = await call('POST', `${route}/replay`, {
      body: { ids: [listed.deadLetters[0].id] },
      expect: 200,
    });
    expect(replay.json).toMatchObject({ replayed: [listed.deadLetters[0].id], kept: 0 });
    await call('POST', `${route}/replay`, { body: { other: 1 }, expect: 400 });
  });

  it('answers moderation as documented', async () => {
    const [gw] = cluster.gateways;
    const eve = await connectClient(gw.url, 'Eve');
    clients.push(eve);
    await eve.ok('room:join', { room: plain });
    await waitFor(() => eve.sessions.length === 1, 3000, 'the session event');
    const userId = eve.sessions[0].user.id;
    const kick = await call('POST', '/api/rooms/{room}/kick', {
      params: { room: plain },
      body: { userId, reason: 'spam' },
      expect: 200,
    });
    expect(kick.json).toEqual({ room: plain, userId, connections: 1 });
    await call('POST', '/api/rooms/{room}/kick', {
      params: { room: plain },
      body: {},
      expect: 400,
    });
    const ban = '/api/rooms/{room}/bans/{userId}';
    await call('PUT', ban, {
      params: { room: plain, userId },
      body: { durationMs: 60000, reason: 'spam' },
      expect: 200,
    });
    await call('PUT', ban, { params: { room: plain, userId: 'forever' }, expect: 200 });
    await call('PUT', ban, {
      params: { room: plain, userId },
      body: { durationMs: -1 },
      expect: 400,
    });
    const bans = await call('GET', '/api/rooms/{room}/bans', {
      params: { room: plain },
      query: { limit: '1' },
      expect: 200,
    });
    expect(bans.json).toMatchObject({ bans: [expect.any(Object)], next: expect.any(String) });
    await call('GET', '/api/rooms/{room}/bans', {
      params: { room: plain },
      query: { limit: '0' },
      expect: 400,
    });
    await call('DELETE', ban, { params: { room: plain, userId }, expect: 204 });
    await call('DELETE', ban, { params: { room: plain, userId: 'x'.repeat(129) }, expect: 400 });
    const mute = '/api/rooms/{room}/mutes/{userId}';
    await call('PUT', mute, { params: { room: plain, userId }, body: {}, expect: 200 });
    await call('PUT', mute, { params: { room: 'a.b', userId }, body: {}, expect: 400 });
    const mutes = await call('GET', '/api/rooms/{room}/mutes', {
      params: { room: plain },
      expect: 200,
    });
    expect(mutes.json).toMatchObject({ mutes: [{ userId }] });
    await call('GET', '/api/rooms/{room}/mutes', {
      params: { room: plain },
      query: { cursor: '' },
      expect: 400,
    });
    await call('DELETE', mute, { params: { room: plain, userId }, expect: 204 });
    await call('DELETE', mute, { params: { room: 'a.b', userId }, expect: 400 });
    await call('POST', '/api/users/{userId}/revoke', {
      params: { userId: 'someone-else' },
      body: { issuedBefore: Date.now() },
      expect: 200,
    });
    await call('POST', '/api/users/{userId}/revoke', {
      params: { userId },
      body: { issuedBefore: 'now' },
      expect: 400,
    });
    const disconnect = await call('POST', '/api/users/{userId}/disconnect', {
      params: { userId },
      body: { reason: 'bye' },
      expect: 200,
    });
    expect(disconnect.json).toEqual({ connections: 1 });
    await call('POST', '/api/users/{userId}/disconnect', {
      params: { userId },
      body: { other: 1 },
      expect: 400,
    });
  });

  it('has called every documented route (run last)', () => {
    const documented = Object.entries(doc.paths).flatMap(([route, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${route}`),
    );
    expect(documented.filter((r) => !called.has(r))).toEqual([]);
    // Every route also answered an error case or more besides its success (but /health).
    expect(
      documented.filter(
        (r) => r !== 'GET /health' && [...answered].filter((a) => a.startsWith(`${r} `)).length < 2,
      ),
    ).toEqual([]);
  });
});
