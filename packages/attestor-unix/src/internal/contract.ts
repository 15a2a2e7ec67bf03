// Compile-time proof that the attestor plugs into @wid/workload-api-server without importing it: these are the
// shapes PEER-CONTRACT.md gives the server, and the assertion below fails to compile if UnixAttestor drifts.
import type { Socket } from 'node:net';
import type { UnixAttestor } from '../unix-attestor.js';

interface ServerPeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly processToken?: unknown;
}

interface ServerWorkloadAttestor {
  readonly name: string;
  attest(pid: number, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

interface ServerPeerCredentialsAttestor extends ServerWorkloadAttestor {
  readPeerCredentials(socket: Socket): ServerPeerCredentials;
  confirmPeer(peer: ServerPeerCredentials, signal?: AbortSignal): Promise<void>;
}

type Assert<T extends true> = T;
export type UnixAttestorSatisfiesServerContract = Assert<
  UnixAttestor extends ServerPeerCredentialsAttestor ? true : false
>;
