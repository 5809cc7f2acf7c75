import { ConsoleLogger } from '@nestjs/common';
import { ConfigError } from './load-config';
import { redactUrl } from './redact';

export { redactUrl } from './redact';

/** A dependency (Redis, RabbitMQ) did not answer at start-up. */
export class UnreachableError extends Error {
  constructor(
    readonly dependency: string,
    readonly url: string,
    readonly hint: string,
    cause?: unknown,
  ) {
    super(`cannot reach ${dependency} at ${redactUrl(url)}`, { cause });
    this.name = 'UnreachableError';
  }
}

/**
 * A start-up failure the operator can fix (a clash with another running instance, say): printed
 * as its message alone, one line, like a config error.
 */
export class StartupError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartupError';
  }
}

export const START_HINTS = {
  redis:
    'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 (or set REDIS_URL)',
  rabbitmq: 'start it with: rabbitmq-server -detached (or set AMQP_URL)',
} as const;

/** The transport's BrokerUnreachableError, known by name: the transport imports no app config. */
const isBrokerUnreachable = (err: unknown): err is Error =>
  err instanceof Error && err.name === 'BrokerUnreachableError';

/**
 * Runs a service's start-up and turns the failures a user can fix (bad config, a dependency that
 * is down) into one clear line and exit code 1, instead of a hang or a wall of stack traces.
 */
export function runService(service: string, start: () => Promise<unknown>): void {
  // A promise nobody awaited that fails (a broker or Redis call cut short by a failover) is
  // logged with its stack instead of ending the process, Node's default: the service keeps
  // serving, and the line says what to fix. (A presence replica died once in a clean-clone CI
  // run during a broker node's stop, with no line to tell why.)
  process.on('unhandledRejection', (reason: unknown) => {
    process.stderr.write(
      `[${service}] unhandled rejection: ${String((reason as Error)?.stack ?? reason)}\n`,
    );
  });
  start().catch((err: unknown) => {
    if (
      err instanceof ConfigError ||
      err instanceof UnreachableError ||
      err instanceof StartupError ||
      isBrokerUnreachable(err)
    ) {
      const hint =
        err instanceof UnreachableError
          ? `; ${err.hint}`
          : isBrokerUnreachable(err)
            ? `; ${START_HINTS.rabbitmq}`
            : '';
      process.stderr.write(`[${service}] ${err.message}${hint}\n`);
    } else {
      process.stderr.write(
        `[${service}] failed to start: ${String((err as Error)?.stack ?? err)}\n`,
      );
    }
    process.exit(1);
  });
}

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** The Nest logger levels at and above `level`. */
export function logLevels(level: LogLevel): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

/**
 * Nest's own start-up chatter (modules initialised, routes and gateways mapped, application
 * started): one line per route is noise at start, so it is logged at `debug`.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'NestMicroservice',
  'WebSocketsController',
]);

/** The services' logger: Nest's console logger, with the framework's start-up lines at debug. */
export class ServiceLogger extends ConsoleLogger {
  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest.at(-1);
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
      this.debug(message, ...rest);
      return;
    }
    super.log(message, ...rest);
  }
}

/** A ServiceLogger printing the levels at and above `level` (LOG_LEVEL). */
export function serviceLogger(level: LogLevel): ServiceLogger {
  return new ServiceLogger({ logLevels: logLevels(level) });
}
