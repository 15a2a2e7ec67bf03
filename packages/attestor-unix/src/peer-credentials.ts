import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { UnixAttestorError } from './errors.js';
import { loadAddon, type PeercredAddon } from './internal/addon.js';
import { aborted, gone, isDead, parseStat, parseStatus, readProcFileSync } from './internal/proc.js';

/**
 * What the kernel says about the process at the other end of a Unix socket (SO_PEERCRED: the process that called
 * `connect()`, with its effective UID/GID at that moment), plus an opaque token that {@link confirmPeer} checks.
 */
export interface PeerCredentials {
  /** PID of the peer, in the reader's PID namespace. */
  readonly pid: number;
  /** Effective UID of the peer when it connected. */
  readonly uid: number;
  /** Effective GID of the peer when it connected. */
  readonly gid: number;
  /**
   * Identity of the process at accept time (its /proc start time). Opaque: pass the object back to
   * {@link confirmPeer}. Absent when read with `captureProcess: false`.
   */
  readonly processToken?: unknown;
}

/** Options of {@link readPeerCredentials}. */
export interface ReadPeerCredentialsOptions {
  /** Where procfs is mounted. Default `/proc`. */
  readonly procRoot?: string;
  /**
   * Record the process start time (and check it with a pidfd) so {@link confirmPeer} can detect PID reuse.
   * `false` returns only what SO_PEERCRED says, without touching /proc. Default `true`.
   */
  readonly captureProcess?: boolean;
  /**
   * Use SO_PEERPIDFD (Linux >= 6.5) to prove the recorded start time belongs to the process that connected.
   * Without it (older kernels, or `false`) the start time is read by PID alone, which leaves a window of a few
   * microseconds in which an exited peer's PID could be reused. Default `true`.
   */
  readonly pidfd?: boolean;
  /** Load the addon from this file instead of the package's build/ and prebuilds/ (e.g. after bundling). */
  readonly addonPath?: string;
}

/** Options of {@link confirmPeer}. */
export interface ConfirmPeerOptions {
  /** Where procfs is mounted; must be the same as when the credentials were read. Default `/proc`. */
  readonly procRoot?: string;
  /** Abort the check. */
  readonly signal?: AbortSignal;
}

/** The processToken of a PeerCredentials from this package. */
interface ProcessToken {
  readonly kind: 'wid.attestor-unix.process';
  /** /proc/<pid>/stat field 22 at accept time. */
  readonly startTime: string;
  /** Whether a pidfd proved that `startTime` was read from the connecting process itself. */
  readonly pidfd: boolean;
}

function isProcessToken(t: unknown): t is ProcessToken {
  return (
    typeof t === 'object' &&
    t !== null &&
    (t as ProcessToken).kind === 'wid.attestor-unix.process' &&
    typeof (t as ProcessToken).startTime === 'string'
  );
}

function errnoName(n: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === n) return name;
  return `errno ${n}`;
}

/** SO_PEERPIDFD's answer when the peer has already exited (EINVAL before Linux 6.16 or so, ESRCH after). */
function pidfdSaysGone(negErrno: number): boolean {
  return negErrno === -osConstants.errno.ESRCH || negErrno === -osConstants.errno.EINVAL;
}

function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new UnixAttestorError(
      'ERR_WID_ATTEST_UNIX_NO_SOCKET_FD',
      'the socket has no file descriptor (it is closed, not yet connected, or not a net.Socket from a Unix-socket ' +
        'server): read peer credentials synchronously in the "connection" handler',
    );
  }
  return fd;
}

/** Reads SO_PEERCRED (+ SO_PEERPIDFD) of `socket`; the internal form shared with the attestor. */
export function readPeerCredentialsWith(
  addon: PeercredAddon,
  socket: Socket,
  procRoot: string,
  captureProcess: boolean,
  usePidfd: boolean,
): PeerCredentials {
  const fd = socketFd(socket);
  const out = new Int32Array(4);
  const rc = addon.peercred(fd, out, captureProcess && usePidfd);
  if (rc !== 0) {
    const errno = errnoName(rc);
    throw new UnixAttestorError(
      'ERR_WID_ATTEST_UNIX_PEERCRED_FAILED',
      `getsockopt(SO_PEERCRED) on fd ${fd} failed with ${errno}: pass a connected Unix-domain stream socket`,
      { errno },
    );
  }
  const pid = out[0]!;
  const uid = out[1]! >>> 0;
  const gid = out[2]! >>> 0;
  const pidfdOrErr = out[3]!;
  try {
    if (pid <= 0) {
      throw new UnixAttestorError(
        'ERR_WID_ATTEST_UNIX_NO_PEER_PID',
        'the kernel reports no peer PID for this socket: it is not a Unix socket, or the peer runs in a PID ' +
          'namespace this process cannot see',
        { pid },
      );
    }
    if (!captureProcess) return Object.freeze({ pid, uid, gid });
    if (usePidfd && pidfdSaysGone(pidfdOrErr)) {
      throw gone(pid, undefined, `SO_PEERPIDFD failed with ${errnoName(-pidfdOrErr)}`);
    }
    const pidfd = pidfdOrErr >= 0 ? pidfdOrErr : undefined;
    // The pidfd pins the process that connected: if it already exited, say so without reading /proc at all.
    if (pidfd !== undefined) assertPidfdAlive(addon, pidfd, pid);
    const { file, text } = readProcFileSync(procRoot, pid, 'stat');
    const st = parseStat(text, pid, file);
    if (isDead(st.state)) throw gone(pid, file, `it is in state ${st.state}`);
    // Still running after the read means its PID was not released before or during the read, so the start time
    // is the peer's own and not a successor's.
    if (pidfd !== undefined) assertPidfdAlive(addon, pidfd, pid);
    const processToken: ProcessToken = Object.freeze({
      kind: 'wid.attestor-unix.process',
      startTime: st.startTime,
      pidfd: pidfd !== undefined,
    });
    return Object.freeze({ pid, uid, gid, processToken });
  } finally {
    // The pidfd only guards the read above; holding it per connection would cost an fd and buy nothing more,
    // because confirmPeer reads status before stat and so detects reuse by start time alone.
    if (pidfdOrErr >= 0) closeSync(pidfdOrErr);
  }
}

function assertPidfdAlive(addon: PeercredAddon, pidfd: number, pid: number): void {
  const r = addon.pidfdExited(pidfd);
  if (r === 1) throw gone(pid, undefined, 'it exited right after connecting');
  if (r < 0) {
    throw new UnixAttestorError(
      'ERR_WID_ATTEST_UNIX_PEERCRED_FAILED',
      `poll() on the pidfd of pid ${pid} failed with ${errnoName(-r)}`,
      { pid, errno: errnoName(-r) },
    );
  }
}

/**
 * Reads the kernel's peer credentials of an accepted Unix-socket connection: PID, effective UID and GID of the
 * process that connected (SO_PEERCRED), and records the process start time so {@link confirmPeer} can later tell
 * whether that PID still belongs to the same process. Synchronous: call it in the server's `'connection'` handler,
 * before the socket is closed. Needs the package's native addon; throws ERR_WID_ATTEST_UNIX_ADDON_MISSING (with how
 * to build it) if it is not there, and never guesses.
 *
 * @example
 * import { createServer } from 'node:net';
 * import { readPeerCredentials } from '@wid/attestor-unix';
 *
 * createServer((socket) => {
 *   const { pid, uid, gid } = readPeerCredentials(socket);
 *   socket.end(`hello pid ${pid} uid ${uid} gid ${gid}\n`);
 * }).listen('/run/example.sock');
 */
export function readPeerCredentials(socket: Socket, options: ReadPeerCredentialsOptions = {}): PeerCredentials {
  return readPeerCredentialsWith(
    loadAddon(options.addonPath),
    socket,
    options.procRoot ?? '/proc',
    options.captureProcess ?? true,
    options.pidfd ?? true,
  );
}

/** The shared implementation of confirmPeer (standalone and the attestor's). */
export async function confirmPeerWith(peer: PeerCredentials, procRoot: string, signal?: AbortSignal): Promise<void> {
  const pid = peer.pid;
  if (signal?.aborted) throw aborted(pid, signal.reason);
  const token = peer.processToken;
  if (!isProcessToken(token)) {
    throw new UnixAttestorError(
      'ERR_WID_ATTEST_UNIX_NO_PROCESS_TOKEN',
      `cannot confirm pid ${pid}: its credentials carry no process token from readPeerCredentials ` +
        '(read them with captureProcess left on)',
      { pid },
    );
  }
  // status first, then stat: if stat still shows the recorded start time, the process existed when status was
  // read too (a PID never returns to an earlier process), so the UID/GID below are the peer's own. Both are read
  // now, after the caller's attestation, never reused from it: that is what makes this a PID-reuse check. The
  // reads are synchronous (procfs: microseconds; see readProcFileSync).
  const status = readProcFileSync(procRoot, pid, 'status');
  const st = readProcFileSync(procRoot, pid, 'stat');
  const parsedStat = parseStat(st.text, pid, st.file);
  const parsedStatus = parseStatus(status.text, pid, status.file);
  if (parsedStat.startTime !== token.startTime) {
    throw changed(pid, st.file, 'start_time', token.startTime, parsedStat.startTime, 'the PID was reused');
  }
  if (isDead(parsedStat.state) || isDead(parsedStatus.state)) {
    throw gone(pid, st.file, `it exited (state ${parsedStat.state})`);
  }
  if (parsedStatus.uid !== peer.uid) {
    throw changed(pid, status.file, 'uid', peer.uid, parsedStatus.uid, 'its effective UID changed');
  }
  if (parsedStatus.gid !== peer.gid) {
    throw changed(pid, status.file, 'gid', peer.gid, parsedStatus.gid, 'its effective GID changed');
  }
}

function changed(
  pid: number,
  file: string,
  field: string,
  expected: string | number,
  actual: string | number,
  what: string,
): UnixAttestorError {
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_PROCESS_CHANGED',
    `process ${pid} is not the one that connected: ${what} (${field} was ${expected} at accept, now ${actual} in ${file})`,
    { pid, file, field, expected, actual },
  );
}

/**
 * Checks that the process behind `peer` (from {@link readPeerCredentials}) still runs, is the same process
 * (same start time, so its PID was not reused) and still has the effective UID/GID it connected with. Call it
 * after attesting a request and before answering it. Throws ERR_WID_ATTEST_UNIX_PROCESS_GONE or
 * ERR_WID_ATTEST_UNIX_PROCESS_CHANGED.
 *
 * @example
 * const peer = readPeerCredentials(socket);
 * const attrs = await attestor.attest(peer.pid);
 * await confirmPeer(peer); // throws if the PID now belongs to someone else
 */
export function confirmPeer(peer: PeerCredentials, options: ConfirmPeerOptions = {}): Promise<void> {
  return confirmPeerWith(peer, options.procRoot ?? '/proc', options.signal);
}

/**
 * Throws ERR_WID_ATTEST_UNIX_ADDON_MISSING now if peer credentials could not be read, so a server can refuse to
 * start instead of failing every connection.
 *
 * @example
 * assertPeerCredentialsAvailable(); // at startup, before listening on a Unix socket
 */
export function assertPeerCredentialsAvailable(options: { readonly addonPath?: string } = {}): void {
  loadAddon(options.addonPath);
}
