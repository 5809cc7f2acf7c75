// The layers of the code, held by `no-restricted-imports` (docs/contributing.md, "Layout"):
// - the broker transport only in broker adapters (a `broker/` folder), modules and main.ts;
// - a lib imports no app, and the transport lib nothing of ours (it could be published alone);
// - no production file imports testing code;
// - no test reaches into another package's internals (a lib by its name, never by a path).
// Each block lists every rule that applies to its files: a later block's rule of the same name
// replaces an earlier one, so the blocks are disjoint by file.

const TESTS = [
  '**/*.spec.ts',
  '**/*.int-spec.ts',
  '**/*.e2e-spec.ts',
  '**/*.fault-spec.ts',
  '**/*.cluster-spec.ts',
  'test/**',
];

const transport = {
  group: ['@roomcast/amqp-transport', 'amqplib', 'amqp-connection-manager'],
  message:
    'the broker transport belongs in a broker/ adapter, a *.module.ts or main.ts: use the ports',
};
const testing = {
  group: ['@roomcast/testing', '**/testing/**', 'fast-check', '**/test/**'],
  message:
    'production code imports no testing code (test doubles live in testing/ folders, out of the build)',
};
const apps = {
  group: ['**/apps/**'],
  message: 'a lib imports no app: move what both need into a lib',
};
const internals = {
  group: ['@roomcast/*/*', '**/libs/*/src/**', '../**/apps/*/src/**'],
  message: "another package's internals: import what its index exports (`@roomcast/<lib>`)",
};
const ours = {
  group: ['@roomcast/*'],
  message: 'the transport is a leaf: it imports nothing of roomcast',
};

const rule = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/** The exceptions to the transport rule, each a broker adapter by design. */
const BROKER_FILES = [
  'apps/*/src/main.ts',
  'apps/*/src/**/*.module.ts',
  'apps/*/src/broker/**',
  // The webhook worker consumes and parks its own queues (webhook-queues.ts in libs/delivery).
  'apps/presence/src/webhooks/webhook-sender*.ts',
  // Lists and replays the dead-letter queue: a broker read by nature.
  'apps/api/src/server-api/dead-letters.controller.ts',
];

export const layers = [
  {
    files: ['apps/**/*.ts'],
    ignores: [...TESTS, ...BROKER_FILES],
    rules: rule(transport, testing),
  },
  { files: BROKER_FILES, ignores: TESTS, rules: rule(testing) },
  { files: ['libs/amqp-transport/src/**/*.ts'], ignores: TESTS, rules: rule(ours, apps, testing) },
  {
    files: ['libs/*/src/**/*.ts'],
    ignores: [...TESTS, 'libs/amqp-transport/**', 'libs/testing/**'],
    rules: rule(apps, testing),
  },
  { files: ['libs/testing/src/**/*.ts'], ignores: TESTS, rules: rule(apps) },
  { files: TESTS, rules: rule(internals) },
];
