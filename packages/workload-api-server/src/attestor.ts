import type { Socket } from 'node:net';

/**
 * Attributes of a caller: plain nested objects, e.g. `{ workload: { unix: { attested: true, uid: 1000 } } }`
 * (ARCHITECTURE.md "Attributes").
 */
export type WorkloadAttributes = Readonly<Record<string, unknown>>;

/**
 * What the kernel says about the process at the other end of a Unix socket.
 *
 * @example
 * const peer: PeerCredentials = { pid: 4242, uid: 1000, gid: 1000 };
 */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Opaque process-identity token taken at accept time (e.g. start time or a pidfd), used by `confirmPeer`. */
  readonly processToken?: unknown;
}

/**
 * Turns a PID into attributes. The server merges the result as `workload.<name>.*` with `attested: true`.
 * The attestor named `unix` failing fails the call; any other attestor failing is logged and its block left out.
 *
 * @example
 * const systemd: WorkloadAttestor = { name: 'systemd', attest: async (pid) => ({ service: await unitOf(pid) }) };
 */
export interface WorkloadAttestor {
  readonly name: string;
  attest(pid: number, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

/**
 * An attestor that can also read kernel peer credentials (the unix attestor of @wid/attestor-unix is one). A server
 * listening on a Unix socket needs exactly one.
 *
 * @example
 * import { createUnixAttestor } from '@wid/attestor-unix';
 * createWorkloadApiServer({ listen: 'unix:///run/wid/agent.sock', attestors: [createUnixAttestor()], identities });
 */
export interface PeerCredentialsAttestor extends WorkloadAttestor {
  /** Synchronous; called in the server's `'connection'` handler with the accepted socket, before any data is read.
   *  Throws a typed error if credentials cannot be read. */
  readPeerCredentials(socket: Socket): PeerCredentials;
  /** Called after attestation of each call; throws (code `ERR_WID_ATTEST_UNIX_PROCESS_CHANGED` / `_GONE`) if the
   *  process behind `peer` exited or its PID was reused since accept time. */
  confirmPeer(peer: PeerCredentials, signal?: AbortSignal): Promise<void>;
}

/**
 * True when `attestor` can read peer credentials (has `readPeerCredentials` and `confirmPeer`).
 *
 * @example
 * const unix = attestors.find(isPeerCredentialsAttestor);
 */
export function isPeerCredentialsAttestor(attestor: WorkloadAttestor): attestor is PeerCredentialsAttestor {
  const a = attestor as Partial<PeerCredentialsAttestor>;
  return typeof a.readPeerCredentials === 'function' && typeof a.confirmPeer === 'function';
}
