import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { printableSetting } from './redact';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment once at start-up against a DTO whose fields carry their defaults.
 * Nothing else in the apps reads `process.env`.
 */
export function loadConfig<T extends object>(
  dto: new () => T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const config = plainToInstance(dto, defined, { enableImplicitConversion: true });
  const errors = validateSync(config, { whitelist: true });
  if (errors.length > 0) {
    throw new ConfigError(
      // The text the user set (no password or secret), and the first rule it breaks.
      errors.map(
        (e) =>
          `${e.property}=${printableSetting(e.property, String(env[e.property]))}: ` +
          `${Object.values(e.constraints ?? {})[0]}`,
      ),
    );
  }
  return config;
}
