import { readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { type Logger, silentLogger } from '@wid/spiffe-id';
import { UnixAttestorError } from './errors.js';
import { loadAddon, type PeercredAddon } from './internal/addon.js';
import { BinaryHasher, exeFailure } from './internal/binary-hash.js';
import { IdNameFiles } from './internal/etc.js';

import { aborted, parseStatus, procFile, readProcFileSync } from './internal/proc.js';
import { confirmPeerWith, type PeerCredentials, readPeerCredentialsWith } from './peer-credentials.js';

/** The pino-compatible logger the attestor writes warnings to (`(obj, msg)`). */
export type UnixAttestorLogger = Logger;

/** Options of {@link createUnixAttestor}. Every field is optional. */
export interface UnixAttestorOptions {
  /** Where procfs is mounted. Default `/proc`. */
  readonly procRoot?: string;
  /** Directory holding `passwd` and `group`, used to name the UID and GID. Default `/etc`. */
  readonly etcRoot?: string;
  /**
   * Largest executable, in bytes, that is hashed for `binary_hash`. Larger ones get no `binary_hash` (a warning
   * is logged). `-1`: no limit. `0`: never hash (the attribute is always absent). Default 1 GiB (2^30).
   */
  readonly hashMaxBytes?: number;
  /**
   * Number of executables whose hash is remembered (LRU, keyed by device, inode, mtime, ctime and size).
   * `0` disables the cache. Default 1024.
   */
  readonly hashCacheEntries?: number;
  /** Use SO_PEERPIDFD where the kernel has it (see {@link ReadPeerCredentialsOptions.pidfd}). Default `true`. */
  readonly pidfd?: boolean;
  /** Load the native addon from this file instead of the package's build/ and prebuilds/. */
  readonly addonPath?: string;
  /** Where warnings go (pino-compatible). Default: silent. */
  readonly logger?: UnixAttestorLogger;
}

/** Attributes the unix attestor returns; the server publishes them as `workload.unix.*`. */
export type UnixAttributes = {
  /** The attested PID. */
  readonly pid: number;
  /** Effective UID (second field of `Uid:` in /proc/<pid>/status). */
  readonly uid: number;
  /** Effective GID (second field of `Gid:`). */
  readonly gid: number;
  /** Target of /proc/<pid>/exe (ends in ` (deleted)` if the file was removed since the process started). */
  readonly binary_path: string;
  /** Lowercase hex SHA-256 of the executable; absent when hashing is off or the file exceeds `hashMaxBytes`. */
  readonly binary_hash?: string;
  /** Name of `uid` in `<etcRoot>/passwd`; absent if it has none. */
  readonly user?: string;
  /** Name of `gid` in `<etcRoot>/group`; absent if it has none. */
  readonly group?: string;
  /** Supplementary group IDs (`Groups:` of /proc/<pid>/status). */
  readonly supplementary_gids: readonly number[];
};

/** Counters of the attestor, for metrics. */
export interface UnixAttestorStats {
  /** Binary hashes answered from the cache. */
  readonly binaryHashCacheHits: number;
  /** Binary hashes computed by reading an executable. */
  readonly binaryHashesComputed: number;
  /** Bytes read to compute them. */
  readonly binaryBytesHashed: number;
  /** Executables in the hash cache now. */
  readonly binaryHashCacheEntries: number;
}

/** The unix attestor: peer credentials of Unix sockets plus /proc facts about a PID. */
export interface UnixAttestor {
  /** Always `unix`. */
  readonly name: 'unix';
  /** Reads /proc (and etc files) about `pid`. Rejects with a {@link UnixAttestorError}. */
  attest(pid: number, signal?: AbortSignal): Promise<UnixAttributes>;
  /** {@link readPeerCredentials} with this attestor's procRoot, pidfd and addonPath options. */
  readPeerCredentials(socket: Socket): PeerCredentials;
  /** {@link confirmPeer} with this attestor's procRoot. */
  confirmPeer(peer: PeerCredentials, signal?: AbortSignal): Promise<void>;
  /** Cache counters. */
  stats(): UnixAttestorStats;
}

const GIB = 1024 ** 3;

function badOption(key: string, value: unknown, accepted: string): UnixAttestorError {
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_BAD_OPTION',
    `createUnixAttestor: option ${key} is ${JSON.stringify(value) ?? String(value)}; expected ${accepted}`,
    { key },
  );
}

function pathOption(options: UnixAttestorOptions, key: 'procRoot' | 'etcRoot' | 'addonPath'): string | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw badOption(key, v, 'a non-empty path');
  return v;
}

function intOption(
  options: UnixAttestorOptions,
  key: 'hashMaxBytes' | 'hashCacheEntries',
  min: number,
): number | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw badOption(key, v, min === -1 ? 'an integer >= -1 (-1: no limit, 0: off)' : `an integer >= ${min}`);
  }
  return v;
}

/**
 * Creates the unix attestor. `attest(pid)` returns the process's effective UID/GID, their names, supplementary
 * groups, executable path and SHA-256; `readPeerCredentials(socket)` and `confirmPeer(peer)` give the server the
 * kernel's view of who connected and catch a PID that was reused in between. The object satisfies the Workload API
 * server's `PeerCredentialsAttestor` interface.
 *
 * @example
 * import { createUnixAttestor } from '@wid/attestor-unix';
 *
 * const unix = createUnixAttestor({ hashMaxBytes: 256 * 1024 * 1024 });
 * server.on('connection', async (socket) => {
 *   const peer = unix.readPeerCredentials(socket);
 *   const attrs = await unix.attest(peer.pid); // { pid, uid, gid, user, group, binary_path, binary_hash, ... }
 *   await unix.confirmPeer(peer);             // throws if the PID was reused meanwhile
 * });
 */
export function createUnixAttestor(options: UnixAttestorOptions = {}): UnixAttestor {
  if (typeof options !== 'object' || options === null) throw badOption('options', options, 'an object');
  const procRoot = pathOption(options, 'procRoot') ?? '/proc';
  const etcRoot = pathOption(options, 'etcRoot') ?? '/etc';
  const addonPath = pathOption(options, 'addonPath');
  const hashMaxBytes = intOption(options, 'hashMaxBytes', -1) ?? GIB;
  const hashCacheEntries = intOption(options, 'hashCacheEntries', 0) ?? 1024;
  if (options.pidfd !== undefined && typeof options.pidfd !== 'boolean') {
    throw badOption('pidfd', options.pidfd, 'true or false');
  }
  const usePidfd = options.pidfd ?? true;
  const logger = options.logger ?? silentLogger;
  for (const m of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger[m] !== 'function')
      throw badOption('logger', `{ ${m}: ${typeof logger[m]} }`, 'a pino-like logger');
  }
  const hasher = hashMaxBytes === 0 ? undefined : new BinaryHasher(hashMaxBytes, hashCacheEntries, logger);
  const idNames = new IdNameFiles(etcRoot);
  let addon: PeercredAddon | undefined;

  async function attest(pid: number, signal?: AbortSignal): Promise<UnixAttributes> {
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new UnixAttestorError(
        'ERR_WID_ATTEST_UNIX_BAD_PID',
        `cannot attest pid ${String(pid)}: not a positive integer`,
      );
    }
    if (signal?.aborted) throw aborted(pid, signal.reason);
    // procfs reads and the readlink are synchronous: they take microseconds, where the asynchronous forms spend
    // most of their time queued in the libuv threadpool. Only hashing an executable (cache miss) reads a big file,
    // and it stays asynchronous.
    const status = readProcFileSync(procRoot, pid, 'status');
    const { uid, gid, groups } = parseStatus(status.text, pid, status.file);
    const exe = procFile(procRoot, pid, 'exe');
    let binaryPath: string;
    try {
      binaryPath = readlinkSync(exe);
    } catch (e) {
      throw exeFailure(e, pid, exe);
    }
    const binaryHash = hasher ? await hasher.hash(exe, pid, signal) : undefined;
    if (signal?.aborted) throw aborted(pid, signal.reason);
    // Parsed once, re-read only when the file changes (see IdNameFiles).
    const user = idNames.get('passwd', pid).get(uid);
    const group = idNames.get('group', pid).get(gid);
    return {
      pid,
      uid,
      gid,
      binary_path: binaryPath,
      ...(binaryHash === undefined ? {} : { binary_hash: binaryHash }),
      ...(user === undefined ? {} : { user }),
      ...(group === undefined ? {} : { group }),
      supplementary_gids: groups,
    };
  }

  return Object.freeze({
    name: 'unix' as const,
    attest,
    readPeerCredentials(socket: Socket): PeerCredentials {
      addon ??= loadAddon(addonPath);
      return readPeerCredentialsWith(addon, socket, procRoot, true, usePidfd);
    },
    confirmPeer(peer: PeerCredentials, signal?: AbortSignal): Promise<void> {
      return confirmPeerWith(peer, procRoot, signal);
    },
    stats(): UnixAttestorStats {
      const s = hasher?.stats();
      return {
        binaryHashCacheHits: s?.cacheHits ?? 0,
        binaryHashesComputed: s?.computed ?? 0,
        binaryBytesHashed: s?.bytesHashed ?? 0,
        binaryHashCacheEntries: s?.cacheEntries ?? 0,
      };
    },
  });
}
