import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ServerError } from './errors.js';
import { type ServerLogger, SILENT_LOGGER } from './logger.js';
import { checkStorageKey, type Storage } from './storage.js';

/** An open file, as {@link DirectoryStorageFs.open} returns it (a subset of node:fs/promises' FileHandle). */
export interface DirectoryStorageFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system calls {@link createDirectoryStorage} makes (a subset of `node:fs/promises`). A seam for tests that
 * inject a failing write or a full disk; production uses node:fs/promises.
 */
export interface DirectoryStorageFs {
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  chmod(path: string, mode: number): Promise<void>;
  stat(path: string): Promise<{ mode: number; uid: number; isDirectory(): boolean }>;
  open(path: string, flags: string, mode?: number): Promise<DirectoryStorageFileHandle>;
  rename(oldPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
}

/** Options of {@link createDirectoryStorage}. */
export interface DirectoryStorageOptions {
  /** The directory (created with mode 0700 if missing; an existing one is chmod'ed to 0700). */
  readonly path: string;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: ServerLogger;
  /** File-system seam. Default: `node:fs/promises`. */
  readonly fs?: DirectoryStorageFs;
}

/** A {@link Storage} in a directory, with its path. */
export interface DirectoryStorage extends Storage {
  readonly path: string;
}

/**
 * A {@link Storage} that keeps each key in a file of one directory. The directory is 0700 and every file 0600.
 * `put` is atomic and durable: it writes a temporary file in the same directory, fsyncs it, renames it over the
 * old file and fsyncs the directory — a crash or a full disk mid-write leaves the old value (or none), never a
 * torn or empty file. `get` refuses a file that group or others may read or write (`ERR_WID_SERVER_STORAGE_INSECURE`).
 *
 * @example
 * const storage = createDirectoryStorage({ path: '/var/lib/wid' });
 * const { ca } = await openCertificateAuthority({ storage, trustDomain: 'example.org' });
 */
export function createDirectoryStorage(options: DirectoryStorageOptions): DirectoryStorage {
  if (typeof options !== 'object' || options === null) {
    throw new ServerError('ERR_WID_SERVER_INVALID_OPTION', 'option "options": must be an object', { key: 'options' });
  }
  const dir = options.path;
  if (typeof dir !== 'string' || dir === '') {
    throw new ServerError('ERR_WID_SERVER_INVALID_OPTION', 'option "path": must be a non-empty directory path', {
      key: 'path',
    });
  }
  const fs: DirectoryStorageFs = options.fs ?? (fsp as unknown as DirectoryStorageFs);
  const log = options.logger ?? SILENT_LOGGER;
  let ready: Promise<void> | undefined;

  const io = (what: string, path: string, cause: unknown) =>
    new ServerError('ERR_WID_SERVER_STORAGE_IO', `cannot ${what} "${path}": ${(cause as Error)?.message ?? cause}`, {
      path,
      cause,
    });

  const prepare = async (): Promise<void> => {
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await fs.chmod(dir, 0o700);
    } catch (cause) {
      throw io('create the storage directory', dir, cause);
    }
    // Temporary files of writes interrupted by a crash: never read, safe to remove.
    let names: string[] = [];
    try {
      names = await fs.readdir(dir);
    } catch (cause) {
      throw io('list', dir, cause);
    }
    for (const name of names) {
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        await fs.unlink(join(dir, name)).catch(() => {});
        log.info({ path: join(dir, name) }, 'removed the temporary file of an interrupted write');
      }
    }
  };
  const ensure = (): Promise<void> => {
    ready ??= prepare().catch((e: unknown) => {
      ready = undefined;
      throw e;
    });
    return ready;
  };

  const syncDir = async (): Promise<void> => {
    let handle: DirectoryStorageFileHandle | undefined;
    try {
      handle = await fs.open(dir, 'r');
      await handle.sync();
    } catch (cause) {
      // Some file systems cannot fsync a directory (EINVAL/EISDIR); the rename itself is already atomic.
      const code = (cause as { code?: unknown })?.code;
      if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw io('fsync the directory', dir, cause);
    } finally {
      await handle?.close().catch(() => {});
    }
  };

  return {
    path: dir,
    async get(key) {
      const file = join(dir, checkStorageKey(key));
      await ensure();
      let st: { mode: number; uid: number };
      try {
        st = await fs.stat(file);
      } catch (cause) {
        if ((cause as { code?: unknown })?.code === 'ENOENT') return undefined;
        throw io('stat', file, cause);
      }
      const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
      if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) {
        throw new ServerError(
          'ERR_WID_SERVER_STORAGE_INSECURE',
          `"${file}" has mode ${(st.mode & 0o777).toString(8)} or another owner; it holds key material and must be 0600 and owned by this user`,
          { path: file, key },
        );
      }
      try {
        return new Uint8Array(await fs.readFile(file));
      } catch (cause) {
        if ((cause as { code?: unknown })?.code === 'ENOENT') return undefined;
        throw io('read', file, cause);
      }
    },
    async put(key, bytes) {
      const file = join(dir, checkStorageKey(key));
      if (!(bytes instanceof Uint8Array)) {
        throw new ServerError('ERR_WID_SERVER_INVALID_REQUEST', 'request "bytes": must be a Uint8Array', {
          key: 'bytes',
        });
      }
      await ensure();
      const tmp = join(dir, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
      let handle: DirectoryStorageFileHandle | undefined;
      try {
        handle = await fs.open(tmp, 'wx', 0o600);
        await handle.writeFile(bytes);
        await handle.sync();
        await handle.close();
        handle = undefined;
        await fs.rename(tmp, file);
      } catch (cause) {
        await handle?.close().catch(() => {});
        await fs.unlink(tmp).catch(() => {});
        throw io('write', file, cause);
      }
      await syncDir();
    },
    async delete(key) {
      const file = join(dir, checkStorageKey(key));
      await ensure();
      try {
        await fs.unlink(file);
      } catch (cause) {
        if ((cause as { code?: unknown })?.code !== 'ENOENT') throw io('delete', file, cause);
        return;
      }
      await syncDir();
    },
  };
}
