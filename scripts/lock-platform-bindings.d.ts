// Types for scripts/lock-platform-bindings.js, which plain node runs and the tests import.

export interface LockEntry {
  version?: string;
  integrity?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

export interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
  [field: string]: unknown;
}

export function platformOf(name: string): { os: string; cpu: string; libc?: string } | undefined;
export function missingOptional(lock: Lock): { parent: string; name: string; spec: string }[];
export function addPlatformBindings(lock: Lock): Lock;
