/**
 * @wid/attestor-unix: who is on the other end of a Unix socket, and what is that process.
 *
 * - {@link readPeerCredentials}: the kernel's PID/UID/GID of a socket peer (SO_PEERCRED, through a small Node-API
 *   addon built at install time with only a C compiler), plus a process token for the PID-reuse guard.
 * - {@link confirmPeer}: after attesting, check the PID still belongs to the process that connected.
 * - {@link createUnixAttestor}: the `unix` workload attestor (`workload.unix.*`: pid, uid, gid, user, group,
 *   supplementary_gids, binary_path, binary_hash), reading an injectable `procRoot` and `etcRoot`.
 *
 * @example
 * import { createUnixAttestor } from '@wid/attestor-unix';
 * const unix = createUnixAttestor();
 * const peer = unix.readPeerCredentials(socket);
 * const attributes = await unix.attest(peer.pid);
 * await unix.confirmPeer(peer);
 */
export type { UnixAttestorErrorCode, UnixAttestorErrorFields } from './errors.js';
export { ATTEST_UNIX_ERROR_CODES, UnixAttestorError } from './errors.js';
export type { ConfirmPeerOptions, PeerCredentials, ReadPeerCredentialsOptions } from './peer-credentials.js';
export { assertPeerCredentialsAvailable, confirmPeer, readPeerCredentials } from './peer-credentials.js';
export type {
  UnixAttestor,
  UnixAttestorLogger,
  UnixAttestorOptions,
  UnixAttestorStats,
  UnixAttributes,
} from './unix-attestor.js';
export { createUnixAttestor } from './unix-attestor.js';
