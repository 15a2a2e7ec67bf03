import { ServerError } from './errors.js';

/**
 * Where the server keeps state (the CA's keys and certificates): a flat key → bytes store. `put` replaces the value
 * atomically: a reader sees the old bytes or the new ones, never a mix or nothing.
 *
 * @example
 * await storage.put('ca.json', new TextEncoder().encode('{}'));
 * const bytes = await storage.get('ca.json'); // Uint8Array | undefined
 */
export interface Storage {
  /** The bytes stored under `key`, or `undefined`. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` under `key`, replacing any value atomically. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Removes `key` (no error when absent). */
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** @internal Throws `ERR_WID_SERVER_STORAGE_KEY` unless `key` is a plain file name. */
export function checkStorageKey(key: unknown): string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new ServerError(
      'ERR_WID_SERVER_STORAGE_KEY',
      `storage key ${JSON.stringify(String(key)).slice(0, 80)} is not allowed; use letters, digits, ".", "_" and "-", not starting with "." or "-"`,
      { key: String(key) },
    );
  }
  return key;
}

/**
 * A {@link Storage} in memory (state is lost with the process: a new CA on every start). Values are copied in and out.
 *
 * @example
 * const storage = createMemoryStorage();
 * const { ca } = await openCertificateAuthority({ storage, trustDomain: 'example.org' });
 */
export function createMemoryStorage(): Storage {
  const map = new Map<string, Uint8Array>();
  return {
    async get(key) {
      const v = map.get(checkStorageKey(key));
      return v === undefined ? undefined : new Uint8Array(v);
    },
    async put(key, bytes) {
      map.set(checkStorageKey(key), new Uint8Array(bytes));
    },
    async delete(key) {
      map.delete(checkStorageKey(key));
    },
  };
}
