import { createHash } from 'node:crypto';
import { type BigIntStats, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { Logger } from '@wid/spiffe-id';
import { UnixAttestorError } from '../errors.js';
import { aborted, errnoOf, gone } from './proc.js';

const CHUNK = 1024 * 1024;

/** Counters of the binary-hash cache, for metrics and tests. */
export interface BinaryHashStats {
  /** Hashes served from the cache (including callers that joined a hash already in progress). */
  readonly cacheHits: number;
  /** Hashes computed by reading the file. */
  readonly computed: number;
  /** Bytes read to compute them. */
  readonly bytesHashed: number;
  /** Entries in the cache now. */
  readonly cacheEntries: number;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, pid: number): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(aborted(pid, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(pid, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Identity of one version of a file: device + inode name the file, mtime + size its content. ctime is added because
 * only the kernel sets it, so content rewritten with a forged mtime (and the same size) still misses the cache.
 */
function cacheKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
}

/**
 * SHA-256 of process executables with a bounded LRU cache keyed by device + inode + mtime + ctime + size of the file the
 * exe link opens, so a binary that runs as many processes (or connects often) is read once. Concurrent requests
 * for the same file share one read.
 */
export class BinaryHasher {
  readonly #maxBytes: number;
  readonly #cacheEntries: number;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Promise<string | undefined>>();
  #hits = 0;
  #computed = 0;
  #bytes = 0;

  /** `maxBytes`: -1 unlimited, > 0 a limit (0, hashing disabled, is handled by the caller). */
  constructor(maxBytes: number, cacheEntries: number, logger: Logger) {
    this.#maxBytes = maxBytes;
    this.#cacheEntries = cacheEntries;
    this.#logger = logger;
  }

  stats(): BinaryHashStats {
    return {
      cacheHits: this.#hits,
      computed: this.#computed,
      bytesHashed: this.#bytes,
      cacheEntries: this.#cache.size,
    };
  }

  /** Hex SHA-256 of the file `exePath` (a /proc/<pid>/exe link) opens, or undefined when it exceeds the limit. */
  async hash(exePath: string, pid: number, signal?: AbortSignal): Promise<string | undefined> {
    if (signal?.aborted) throw aborted(pid, signal.reason);
    if (this.#cacheEntries > 0) {
      // Fast path: stat the link synchronously (it follows to the running binary, like open does; microseconds on
      // procfs) and answer from the cache without opening the file. A miss, or a file over the limit, takes the
      // path below, which keys the entry on the opened file itself.
      let st: BigIntStats;
      try {
        st = statSync(exePath, { bigint: true });
      } catch (e) {
        throw exeFailure(e, pid, exePath);
      }
      const cached = this.#hit(st);
      if (cached) return await raceAbort(cached, signal, pid);
    }
    let fh: FileHandle;
    try {
      // Opening the link opens the running binary itself, even if its path was deleted or replaced since.
      fh = await open(exePath, 'r');
    } catch (e) {
      throw exeFailure(e, pid, exePath);
    }
    let owned = true;
    try {
      let st: BigIntStats;
      try {
        st = await fh.stat({ bigint: true });
      } catch (e) {
        throw exeFailure(e, pid, exePath);
      }
      if (this.#maxBytes !== -1 && st.size > BigInt(this.#maxBytes)) {
        this.#logger.warn(
          { pid, file: exePath, size: Number(st.size), hashMaxBytes: this.#maxBytes },
          'binary larger than hashMaxBytes: binary_hash omitted',
        );
        return undefined;
      }
      const key = cacheKey(st);
      const cached = this.#hit(st);
      if (cached) return await raceAbort(cached, signal, pid);
      owned = false;
      // The read owns the handle from here on, so one caller's abort cannot break a read others wait for.
      const work = this.#read(fh, key, exePath, pid);
      if (this.#cacheEntries > 0) {
        this.#cache.set(key, work);
        while (this.#cache.size > this.#cacheEntries) {
          const oldest = this.#cache.keys().next().value as string;
          this.#cache.delete(oldest);
        }
        work.then(
          (h) => {
            if (h === undefined && this.#cache.get(key) === work) this.#cache.delete(key);
          },
          () => {
            if (this.#cache.get(key) === work) this.#cache.delete(key);
          },
        );
      }
      return await raceAbort(work, signal, pid);
    } finally {
      if (owned) await fh.close();
    }
  }

  /** The cached hash of this version of the file, if any (counted as a hit and moved to most recently used). */
  #hit(st: BigIntStats): Promise<string | undefined> | undefined {
    if (this.#cacheEntries === 0) return undefined;
    const key = cacheKey(st);
    const cached = this.#cache.get(key);
    if (!cached) return undefined;
    this.#hits++;
    // Most recently used goes last; eviction takes the first.
    this.#cache.delete(key);
    this.#cache.set(key, cached);
    return cached;
  }

  async #read(fh: FileHandle, key: string, exePath: string, pid: number): Promise<string | undefined> {
    try {
      this.#computed++;
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        this.#bytes += bytesRead;
        if (this.#maxBytes !== -1 && total > this.#maxBytes) {
          this.#logger.warn({ pid, file: exePath, hashMaxBytes: this.#maxBytes }, 'binary grew past hashMaxBytes');
          return undefined;
        }
        hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      }
      const after = await fh.stat({ bigint: true });
      if (cacheKey(after) !== key) {
        // Modified while we read: the digest would describe no single version of the file (and it is not cached).
        this.#logger.warn({ pid, file: exePath }, 'binary changed while it was hashed: binary_hash omitted');
        return undefined;
      }
      return hash.digest('hex');
    } catch (e) {
      throw exeFailure(e, pid, exePath);
    } finally {
      await fh.close();
    }
  }
}

/** The exe link of a zombie or kernel thread does not resolve; a permission problem is not a vanished process. */
export function exeFailure(e: unknown, pid: number, file: string): UnixAttestorError {
  if (e instanceof UnixAttestorError) return e;
  const errno = errnoOf(e);
  if (errno === 'ENOENT' || errno === 'ESRCH') {
    return gone(pid, file, `${file} does not resolve (the process exited, or is a zombie or kernel thread)`, e);
  }
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_BINARY_UNREADABLE',
    `cannot read the executable of pid ${pid} through ${file}: ${errno ?? String(e)}`,
    { pid, file, errno },
    { cause: e },
  );
}
