/** A change the app made that waits for the server's ack: retried with its clientId until then. */
export type Op =
  | { kind: 'send'; room: string; clientId: string; createdAt: number; text: string }
  | { kind: 'edit'; room: string; clientId: string; createdAt: number; id: string; text: string }
  | { kind: 'delete'; room: string; clientId: string; createdAt: number; id: string }
  | {
      kind: 'react';
      room: string;
      clientId: string;
      createdAt: number;
      id: string;
      emoji: string;
      on: boolean;
    };

/**
 * Where the outbox keeps its changes until they settle. The memory one (the default) lives as
 * long as the client; `indexedDbStorage` survives a page reload, so a change made just before it
 * is still sent, once, with its clientId.
 */
export interface OutboxStorage {
  /** Every change kept, oldest first. */
  load(): Promise<Op[]>;
  put(op: Op): Promise<void>;
  delete(clientId: string): Promise<void>;
}

export function memoryStorage(): OutboxStorage {
  const ops = new Map<string, Op>();
  return {
    load: async () => [...ops.values()],
    put: async (op) => {
      ops.set(op.clientId, op);
    },
    delete: async (clientId) => {
      ops.delete(clientId);
    },
  };
}

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbStore {
  getAll(): IdbRequest<Op[]>;
  put(op: Op): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options: { keyPath: string }): unknown;
  transaction(
    store: string,
    mode: 'readonly' | 'readwrite',
  ): { objectStore(name: string): IdbStore };
}
interface IdbOpen extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpen;
}

function done<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * The outbox in the browser's IndexedDB (database `name`, one object store keyed by clientId),
 * so changes made before a page reload are sent after it. Use one name per signed-in user.
 */
export function indexedDbStorage(
  name = 'roomcast-outbox',
  factory: IdbFactory = (globalThis as unknown as { indexedDB: IdbFactory }).indexedDB,
): OutboxStorage {
  const STORE = 'ops';
  let db: Promise<IdbDatabase> | undefined;
  const store = async (mode: 'readonly' | 'readwrite') => {
    db ??= (() => {
      const req = factory.open(name, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE))
          req.result.createObjectStore(STORE, { keyPath: 'clientId' });
      };
      return done(req);
    })();
    return (await db).transaction(STORE, mode).objectStore(STORE);
  };
  return {
    load: async () =>
      (await done((await store('readonly')).getAll())).sort((a, b) => a.createdAt - b.createdAt),
    put: async (op) => void (await done((await store('readwrite')).put(op))),
    delete: async (clientId) => void (await done((await store('readwrite')).delete(clientId))),
  };
}
