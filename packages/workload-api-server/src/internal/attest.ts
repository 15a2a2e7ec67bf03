import { status } from '@grpc/grpc-js';
import type { PeerCredentials, PeerCredentialsAttestor, WorkloadAttestor, WorkloadAttributes } from '../attestor.js';
import type { Logger } from '../logger.js';
import { raceAbort } from './abortable.js';
import { codeOf, StatusError } from './status.js';

/** Codes of @wid/attestor-unix meaning "the process behind the connection is not the one that connected". */
const PROCESS_CHANGED_CODES = new Set(['ERR_WID_ATTEST_UNIX_PROCESS_CHANGED', 'ERR_WID_ATTEST_UNIX_PROCESS_GONE']);

const TIMED_OUT = Symbol('attestation timed out');

/** What the server knows about one accepted connection. */
export interface ConnectionInfo {
  readonly peer: PeerCredentials | undefined;
  /** Why peer credentials could not be read (every call on the connection then fails Unavailable). */
  readonly peerError: unknown;
  /** The attestation now running for this connection, joined by calls that arrive meanwhile (never reused once
   *  settled: every later call attests afresh). */
  inflight?: Promise<WorkloadAttributes> | undefined;
}

export interface AttestationPlan {
  readonly unix: PeerCredentialsAttestor;
  readonly others: readonly WorkloadAttestor[];
  readonly timeoutMs: number;
  readonly logger: Logger;
}

function hardFailure(error: unknown, what: string, pid: number, logger: Logger): StatusError {
  const code = codeOf(error);
  if (code !== undefined && PROCESS_CHANGED_CODES.has(code)) {
    logger.warn({ err: error, pid, code }, `${what}: the calling process exited or changed`);
    return new StatusError(status.PERMISSION_DENIED, `caller could not be attested: ${code}`, { cause: error });
  }
  logger.warn({ err: error, pid, code }, `${what} failed`);
  return new StatusError(status.UNAVAILABLE, 'workload attestation failed; retry later', { cause: error });
}

/**
 * Attests the caller behind `conn` once for one call (ARCHITECTURE.md: the unix attestor failing is a hard failure,
 * other attestors fail soft — logged, their block absent). Returns `{ workload: { <name>: { attested: true, ... } } }`.
 */
export async function attestConnection(
  conn: ConnectionInfo,
  plan: AttestationPlan,
  callSignal?: AbortSignal,
): Promise<WorkloadAttributes> {
  const { logger } = plan;
  if (conn.peer === undefined) {
    throw new StatusError(
      status.UNAVAILABLE,
      "workload attestation failed: the caller's peer credentials are unknown",
      {
        cause: conn.peerError,
      },
    );
  }
  const peer = conn.peer;
  // A plain timer cleared on completion (not AbortSignal.timeout, whose timer lives on for the full timeout: with
  // thousands of calls that is memory held for nothing).
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(TIMED_OUT), plan.timeoutMs);
  const onCallAbort = () => controller.abort(callSignal?.reason);
  callSignal?.addEventListener('abort', onCallAbort, { once: true });
  if (callSignal?.aborted) onCallAbort();
  const onAbort = () =>
    signal.reason === TIMED_OUT
      ? new StatusError(status.UNAVAILABLE, `workload attestation timed out after ${plan.timeoutMs} ms`)
      : new StatusError(status.CANCELLED, 'call cancelled');

  const attestOne = async (attestor: WorkloadAttestor): Promise<Record<string, unknown>> => {
    const result = await attestor.attest(peer.pid, signal);
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      throw new TypeError(
        `attestor "${attestor.name}" returned ${result === null ? 'null' : typeof result}, not an object`,
      );
    }
    return result;
  };

  const work = async (): Promise<WorkloadAttributes> => {
    const unixPromise = attestOne(plan.unix).then(
      (attrs) => attrs,
      (error: unknown) => {
        throw hardFailure(error, `attestor "${plan.unix.name}"`, peer.pid, logger);
      },
    );
    const otherPromises = plan.others.map((attestor) =>
      attestOne(attestor).then(
        (attrs) => attrs,
        (error: unknown) => {
          logger.warn(
            { err: error, pid: peer.pid, attestor: attestor.name, code: codeOf(error) },
            `attestor "${attestor.name}" failed; its attributes are absent for this call`,
          );
          return undefined;
        },
      ),
    );
    const [unixAttrs, ...others] = await Promise.all([unixPromise, ...otherPromises]);
    // Only after every attestor read /proc: the process is still the one that connected (PID not reused).
    try {
      await plan.unix.confirmPeer(peer, signal);
    } catch (error) {
      throw hardFailure(error, 'peer confirmation', peer.pid, logger);
    }
    // The uid/gid in the attributes were read from /proc mid-attestation; the kernel's SO_PEERCRED values are what
    // the caller connected with. A process that was briefly another user in between (e.g. a setuid binary that drops
    // privileges again before confirmPeer) must not be issued that user's identity.
    for (const key of ['uid', 'gid'] as const) {
      const attested = unixAttrs[key];
      if (attested !== undefined && attested !== peer[key]) {
        logger.warn(
          { pid: peer.pid, [key]: attested, [`peer_${key}`]: peer[key] },
          `attested ${key} differs from the peer credentials the caller connected with`,
        );
        throw new StatusError(
          status.PERMISSION_DENIED,
          `caller could not be attested: its ${key} changed during attestation`,
        );
      }
    }
    const workload: Record<string, unknown> = { [plan.unix.name]: { ...unixAttrs, attested: true } };
    plan.others.forEach((attestor, i) => {
      const attrs = others[i];
      // An attestor with nothing to say (e.g. kubernetes for a process outside any pod) resolves `{}`: its block stays
      // absent, so a rule on `workload.<name>.attested` cannot match a process that attestor knows nothing about.
      if (attrs !== undefined && Object.keys(attrs).length > 0) workload[attestor.name] = { ...attrs, attested: true };
    });
    return { workload };
  };

  try {
    return await raceAbort(work(), signal, onAbort);
  } finally {
    clearTimeout(timer);
    callSignal?.removeEventListener('abort', onCallAbort);
  }
}
