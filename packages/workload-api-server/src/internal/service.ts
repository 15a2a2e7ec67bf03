import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { SpiffeId } from '@wid/spiffe-id';
import {
  type JWTSVIDRequest,
  type JWTSVIDResponse,
  SECURITY_HEADER_KEY,
  SECURITY_HEADER_VALUE,
  toProtoStruct,
  type ValidateJWTSVIDRequest,
  type ValidateJWTSVIDResponse,
} from '@wid/workload-api-proto';
import type { WorkloadAttributes } from '../attestor.js';
import type { WorkloadIdentitySource } from '../identity-source.js';
import type { Logger } from '../logger.js';
import { nextOrAbort, raceAbort, releaseIterator } from './abortable.js';
import type { ConnectionInfo } from './attest.js';
import { type Encoded, ResponseEncoder } from './encode.js';
import { codeOf, StatusError, toServiceError, toStatus } from './status.js';

/** Why a call's AbortController fired. */
const CLOSING = Symbol('server closing');

/** An open server stream, so close() can end it. */
export interface OpenStream {
  shutdown(): void;
}

/** Caps on request fields, checked before attestation (a caller must not make the agent cache or log unbounded data). */
export interface RequestLimits {
  /** Most audiences in one FetchJWTSVID request. */
  readonly maxJwtAudiences: number;
  /** Longest audience value, in UTF-8 bytes (FetchJWTSVID and ValidateJWTSVID). */
  readonly maxAudienceBytes: number;
  /** Longest `spiffe_id` of a FetchJWTSVID request, in UTF-8 bytes. */
  readonly maxSpiffeIdBytes: number;
  /** Longest `svid` (JWT) of a ValidateJWTSVID request, in UTF-8 bytes. */
  readonly maxJwtSvidBytes: number;
}

/** What the RPC implementations need from the server around them. */
export interface ServiceContext {
  readonly identities: WorkloadIdentitySource;
  readonly limits: RequestLimits;
  readonly logger: Logger;
  readonly encoder: ResponseEncoder;
  /** Synchronously maps a call to its connection (must run before the first await: getPeer() fades). */
  resolveCaller(call: { getPeer(): string }): ConnectionInfo | undefined;
  attest(conn: ConnectionInfo | undefined, signal: AbortSignal): Promise<WorkloadAttributes>;
  isClosing(): boolean;
  trackStream(stream: OpenStream): () => void;
  trackUnary(done: Promise<void>): void;
}

function hasSecurityHeader(metadata: Metadata): boolean {
  // Workload Endpoint §5: exactly `workload.spiffe.io: true`, case-sensitive value (as SPIRE checks it).
  const values = metadata.get(SECURITY_HEADER_KEY);
  return values.length === 1 && values[0] === SECURITY_HEADER_VALUE;
}

const SECURITY_HEADER_MISSING = 'security header missing from request';

function tooLong(field: string, value: string, max: number): StatusError | undefined {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes <= max) return undefined;
  return new StatusError(status.INVALID_ARGUMENT, `${field} is ${bytes} bytes long; at most ${max} bytes are accepted`);
}

function logFailure(logger: Logger, method: string, error: unknown, pid: number | undefined): void {
  const { code, details } = toStatus(error);
  const fields = { method, pid, grpcCode: status[code], details, code: codeOf(error), err: error };
  if (code === status.UNAVAILABLE && !(error instanceof StatusError)) logger.error(fields, 'Workload API call failed');
  else logger.debug(fields, 'Workload API call refused');
}

/** Builds the grpc-js implementation of every SpiffeWorkloadAPI method. No handler ever throws or rejects. */
export function createServiceImplementation(ctx: ServiceContext): UntypedServiceImplementation {
  const { identities, logger, encoder, limits } = ctx;

  function serveStream<T>(
    method: string,
    call: ServerWritableStream<unknown, unknown>,
    open: (attrs: WorkloadAttributes, signal: AbortSignal) => AsyncIterable<T>,
    encode: (value: T) => Encoded,
  ): void {
    const fail = (error: unknown) => {
      if (call.cancelled || call.writableEnded) return;
      call.emit('error', toServiceError(error));
    };
    if (ctx.isClosing()) {
      fail(new StatusError(status.UNAVAILABLE, 'Workload API server is shutting down'));
      return;
    }
    if (!hasSecurityHeader(call.metadata)) {
      fail(new StatusError(status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING));
      return;
    }
    const conn = ctx.resolveCaller(call);
    const controller = new AbortController();
    let sent = 0;
    const untrack = ctx.trackStream({ shutdown: () => controller.abort(CLOSING) });
    const onCancelled = () => controller.abort();
    call.on('cancelled', onCancelled);
    // Full-state semantics let a slow reader skip intermediate states: hold only the newest while blocked.
    let blocked = false;
    let pending: Buffer | undefined;
    const send = (bytes: Buffer) => {
      if (call.cancelled || call.writableEnded) return;
      if (blocked) {
        pending = bytes;
        return;
      }
      sent++;
      if (!call.write(bytes)) {
        blocked = true;
        call.once('drain', () => {
          blocked = false;
          const next = pending;
          pending = undefined;
          if (next !== undefined) send(next);
        });
      }
    };

    const endForClose = () => {
      // close(): a stream that delivered its state ends cleanly (OK); one that never did is told to retry.
      if (sent > 0) {
        if (!call.cancelled && !call.writableEnded) call.end();
      } else fail(new StatusError(status.UNAVAILABLE, 'Workload API server is shutting down'));
    };

    // One async function for the stream's whole life (a single pending promise per open stream: memory matters
    // with tens of thousands of streams).
    const run = async () => {
      let iterator: AsyncIterator<T> | undefined;
      try {
        const attrs = await ctx.attest(conn, controller.signal);
        iterator = open(attrs, controller.signal)[Symbol.asyncIterator]();
        for (;;) {
          const result = await nextOrAbort(iterator, controller.signal);
          if ('aborted' in result) break;
          if (result.done) throw new StatusError(status.UNAVAILABLE, 'identity source ended the stream; reconnect');
          const encoded = encode(result.value);
          if (encoded.droppedForHint.length > 0) {
            logger.warn(
              { method, dropped: encoded.droppedForHint },
              'left out SVIDs whose hint repeats an earlier one',
            );
          }
          send(encoded.bytes);
        }
        if (controller.signal.reason === CLOSING) endForClose();
      } catch (error) {
        if (controller.signal.reason === CLOSING) endForClose();
        else if (!controller.signal.aborted) {
          // (aborted otherwise = the client went away: nobody to answer)
          logFailure(logger, method, error, conn?.peer?.pid);
          fail(error);
        }
      } finally {
        if (iterator !== undefined) releaseIterator(iterator);
        call.off('cancelled', onCancelled);
        controller.abort(); // release whatever still listens on the signal
        untrack();
      }
    };
    run().catch((error: unknown) => logger.error({ err: error, method }, 'failed to end a Workload API stream'));
  }

  function serveUnary<Req, Res>(
    method: string,
    call: ServerUnaryCall<Req, Res>,
    callback: sendUnaryData<Res>,
    body: (request: Req, conn: ConnectionInfo | undefined, signal: AbortSignal) => Promise<Res>,
  ): void {
    if (ctx.isClosing()) {
      callback(toServiceError(new StatusError(status.UNAVAILABLE, 'Workload API server is shutting down')));
      return;
    }
    if (!hasSecurityHeader(call.metadata)) {
      callback(toServiceError(new StatusError(status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING)));
      return;
    }
    const conn = ctx.resolveCaller(call);
    const controller = new AbortController();
    const onCancelled = () => controller.abort();
    call.on('cancelled', onCancelled);
    const done = (async () => body(call.request, conn, controller.signal))().then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        logFailure(logger, method, error, conn?.peer?.pid);
        callback(toServiceError(error));
      },
    );
    ctx.trackUnary(
      done
        .catch((error: unknown) => logger.error({ err: error, method }, 'failed to answer a Workload API call'))
        .finally(() => call.off('cancelled', onCancelled)),
    );
  }

  const unimplemented: handleServerStreamingCall<unknown, unknown> = (call) => {
    const error = hasSecurityHeader(call.metadata)
      ? new StatusError(status.UNIMPLEMENTED, `${call.getPath()} is not implemented (WIT-SVIDs are incubating)`)
      : new StatusError(status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING);
    call.emit('error', toServiceError(error));
  };

  const FetchX509SVID: handleServerStreamingCall<unknown, unknown> = (call) =>
    serveStream(
      'FetchX509SVID',
      call,
      (attrs, signal) => identities.watchX509Context(attrs, signal),
      (x509) => {
        // Workload API §5: a caller with no SVID has no identity; also when a rotation takes the last one away.
        if (x509.svids.length === 0) throw new StatusError(status.PERMISSION_DENIED, 'no identity issued');
        return encoder.x509Svid(x509);
      },
    );

  const FetchX509Bundles: handleServerStreamingCall<unknown, unknown> = (call) =>
    serveStream(
      'FetchX509Bundles',
      call,
      (attrs, signal) => identities.watchX509Bundles(signal, attrs),
      (set) => encoder.x509Bundles(set),
    );

  const FetchJWTBundles: handleServerStreamingCall<unknown, unknown> = (call) =>
    serveStream(
      'FetchJWTBundles',
      call,
      (attrs, signal) => identities.watchJwtBundles(signal, attrs),
      (set) => encoder.jwtBundles(set),
    );

  const FetchJWTSVID: handleUnaryCall<JWTSVIDRequest, JWTSVIDResponse> = (call, callback) =>
    serveUnary('FetchJWTSVID', call, callback, async (request, conn, signal) => {
      const audience = request.audience ?? [];
      // Workload API §6: audience is mandatory.
      if (audience.length === 0) throw new StatusError(status.INVALID_ARGUMENT, 'audience must be specified');
      if (audience.some((a) => a === '')) {
        throw new StatusError(status.INVALID_ARGUMENT, 'audience must not contain an empty value');
      }
      // Bounded before anything keys a cache entry or an audit record on them.
      if (audience.length > limits.maxJwtAudiences) {
        throw new StatusError(
          status.INVALID_ARGUMENT,
          `too many audiences: ${audience.length}; at most ${limits.maxJwtAudiences} are accepted`,
        );
      }
      for (const a of audience) {
        const error = tooLong('an audience', a, limits.maxAudienceBytes);
        if (error !== undefined) throw error;
      }
      if (request.spiffe_id) {
        const error = tooLong('spiffe_id', request.spiffe_id, limits.maxSpiffeIdBytes);
        if (error !== undefined) throw error;
      }
      let requested: string | undefined;
      if (request.spiffe_id) {
        try {
          requested = SpiffeId.parse(request.spiffe_id).toString();
        } catch (error) {
          throw new StatusError(
            status.INVALID_ARGUMENT,
            `invalid requested SPIFFE ID: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      const attrs = await ctx.attest(conn, signal);
      const minted = await raceAbort(
        identities.fetchJwtSvids(
          attrs,
          requested === undefined ? { audience } : { audience, spiffeId: requested },
          signal,
        ),
        signal,
        () => new StatusError(status.CANCELLED, 'call cancelled'),
      );
      // Never pass on a token for an ID the caller did not ask for, whatever the source returned.
      const svids = requested === undefined ? minted : minted.filter((s) => s.spiffeId === requested);
      if (svids.length === 0) {
        throw new StatusError(
          status.PERMISSION_DENIED,
          requested === undefined ? 'no identity issued' : `no identity issued for ${requested}`,
        );
      }
      const { svids: out, dropped } = ResponseEncoder.jwtSvids(svids);
      if (dropped.length > 0) logger.warn({ method: 'FetchJWTSVID', dropped }, 'left out SVIDs whose hint repeats');
      return { svids: out };
    });

  const ValidateJWTSVID: handleUnaryCall<ValidateJWTSVIDRequest, ValidateJWTSVIDResponse> = (call, callback) =>
    serveUnary('ValidateJWTSVID', call, callback, async (request, conn, signal) => {
      if (!request.audience) throw new StatusError(status.INVALID_ARGUMENT, 'audience must be specified');
      if (!request.svid) throw new StatusError(status.INVALID_ARGUMENT, 'svid must be specified');
      const error =
        tooLong('audience', request.audience, limits.maxAudienceBytes) ??
        tooLong('svid', request.svid, limits.maxJwtSvidBytes);
      if (error !== undefined) throw error;
      const attrs = await ctx.attest(conn, signal);
      const validated = await raceAbort(
        identities.validateJwtSvid(request.svid, request.audience, attrs, signal),
        signal,
        () => new StatusError(status.CANCELLED, 'call cancelled'),
      );
      return { spiffe_id: validated.spiffeId, claims: toProtoStruct(validated.claims) };
    });

  return {
    FetchX509SVID,
    FetchX509Bundles,
    FetchJWTSVID: FetchJWTSVID as handleUnaryCall<unknown, unknown>,
    FetchJWTBundles,
    ValidateJWTSVID: ValidateJWTSVID as handleUnaryCall<unknown, unknown>,
    FetchWITSVID: unimplemented,
    FetchWITBundles: unimplemented,
  };
}
