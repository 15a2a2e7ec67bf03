import { type Logger, SpiffeId, silentLogger } from '@wid/spiffe-id';
import type { JwtBundleSet, JwtSvid, X509BundleSet } from '@wid/svid-issuer';
import {
  type EndpointAddress,
  type JWTSVIDRequest,
  loadWorkloadApiDefinition,
  type ValidateJWTSVIDRequest,
} from '@wid/workload-api-proto';
import { resolveEndpointAddress } from './endpoint-address.js';
import { WorkloadApiClientError } from './errors.js';
import { Backoff, type ResolvedBackoff, resolveBackoff, sleep, type Timers } from './internal/backoff.js';
import {
  type DropReporter,
  parseJwtBundlesResponse,
  parseJwtSvidResponse,
  parseValidateResponse,
  parseX509BundlesResponse,
  parseX509SvidResponse,
} from './internal/responses.js';
import { linkSignals } from './internal/signals.js';
import { type CallContext, type MethodDescriptor, Transport, type Undecodable } from './internal/transport.js';
import type { X509Context } from './x509-context.js';

/** A pino-compatible logger; the client logs reconnects (warn) and dropped SVIDs (warn). Silent by default. */
export type WorkloadApiClientLogger = Logger;

/** Timer functions used to wait between watch reconnects (`globalThis`'s by default; fakes in tests). */
export interface WorkloadApiClientTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * How watches wait before re-opening a failed stream: attempt n waits `min(maxDelayMs, initialDelayMs *
 * multiplier^n)`, scaled by a random factor in `[1 - jitter, 1 + jitter]` (and capped at `maxDelayMs`). The attempt
 * count resets once a response arrives. The gRPC channel's own reconnect backoff uses the same bounds.
 */
export interface WatchBackoffOptions {
  /** First delay in milliseconds. Default 1000. */
  readonly initialDelayMs?: number;
  /** Largest delay in milliseconds. Default 30000. */
  readonly maxDelayMs?: number;
  /** Growth factor per failed attempt, >= 1. Default 2. */
  readonly multiplier?: number;
  /** Relative jitter in [0, 1]. Default 0.2 (±20%). */
  readonly jitter?: number;
}

/** Options of {@link createWorkloadApiClient}. */
export interface WorkloadApiClientOptions {
  /**
   * Workload Endpoint address: `unix:///abs/path`, `unix:/abs/path` or `tcp://<IP>:<port>` (Workload Endpoint §4).
   * Default: `env.SPIFFE_ENDPOINT_SOCKET`.
   */
  readonly address?: string;
  /** Where `SPIFFE_ENDPOINT_SOCKET` is read from when `address` is absent. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reconnect backoff of the `watch*` methods. */
  readonly backoff?: WatchBackoffOptions;
  /** Timers used for the reconnect backoff. Default: the global `setTimeout` / `clearTimeout`. */
  readonly timers?: WorkloadApiClientTimers;
  /** Random source in [0, 1) for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: WorkloadApiClientLogger;
  /** The time received JWT-SVIDs are checked at (`exp`, `iat`, `nbf`). Default: the system clock. */
  readonly clock?: { now(): Date };
}

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts the call; it then rejects with `ERR_WID_CLIENT_ABORTED` (the signal's reason as `cause`). */
  readonly signal?: AbortSignal;
}

/** Options of the `watch*` methods. */
export interface WatchOptions extends CallOptions {
  /**
   * Called with every failure the watch recovers from by reconnecting (Unavailable, PermissionDenied, a malformed
   * response, ...). InvalidArgument is not retried: it ends the iteration with the error instead.
   */
  readonly onError?: (error: WorkloadApiClientError) => void;
}

/** Options of {@link WorkloadApiClient.fetchJwtSvid}. */
export interface FetchJwtSvidOptions extends CallOptions {
  /** The audience(s) the token is minted for; at least one, none empty (Workload API §6). */
  readonly audience: string | readonly string[];
  /** Mint only for this one of the caller's identities. Default: the server's choice (the default identity). */
  readonly spiffeId?: SpiffeId | string;
}

/**
 * A SPIFFE Workload API client (go-spiffe's `workloadapi.Client`). Every request carries the `workload.spiffe.io:
 * true` header; every response is validated into @wid/svid-issuer values on receipt — a malformed one is an
 * `ERR_WID_CLIENT_MALFORMED_RESPONSE`, never a crash. Failed calls reject with {@link WorkloadApiClientError}
 * carrying the gRPC status as `grpcCode`.
 */
export interface WorkloadApiClient {
  /** The parsed endpoint address the client talks to. */
  readonly address: EndpointAddress;
  /** The caller's X.509-SVIDs and bundles (the first response of FetchX509SVID). */
  fetchX509Context(options?: CallOptions): Promise<X509Context>;
  /**
   * The X.509 context now and after every change (rotation, bundle change), as long as the iteration runs.
   * Reconnects with jittered exponential backoff; ends with the error on InvalidArgument or abort, ends normally on
   * `close()` or `break`. Only the newest undelivered context is kept for a slow consumer (each is the full state).
   */
  watchX509Context(options?: WatchOptions): AsyncIterable<X509Context>;
  /** Every X.509 bundle the caller should trust (local and federated), keyed by trust domain. */
  fetchX509Bundles(options?: CallOptions): Promise<X509BundleSet>;
  /** The X.509 bundles now and after every change; same semantics as {@link WorkloadApiClient.watchX509Context}. */
  watchX509Bundles(options?: WatchOptions): AsyncIterable<X509BundleSet>;
  /** One JWT-SVID for the audience: the first the server returns (the default identity, or `spiffeId`'s). */
  fetchJwtSvid(options: FetchJwtSvidOptions): Promise<JwtSvid>;
  /** Every JWT-SVID the server mints for the audience (one per identity of the caller, or just `spiffeId`'s). */
  fetchJwtSvids(options: FetchJwtSvidOptions): Promise<JwtSvid[]>;
  /** Every JWT bundle the caller should trust, keyed by trust domain. */
  fetchJwtBundles(options?: CallOptions): Promise<JwtBundleSet>;
  /** The JWT bundles now and after every change; same semantics as {@link WorkloadApiClient.watchX509Context}. */
  watchJwtBundles(options?: WatchOptions): AsyncIterable<JwtBundleSet>;
  /**
   * Asks the Workload API to validate `token` for `audience` (against the bundle of the token's own trust domain);
   * resolves to the token as a JwtSvid, rejects with `ERR_WID_CLIENT_INVALID_ARGUMENT` when it is invalid.
   */
  validateJwtSvid(token: string, audience: string, options?: CallOptions): Promise<JwtSvid>;
  /** Cancels every call in flight, ends every watch, closes the channel. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const systemClock = { now: () => new Date() };

const silent: WorkloadApiClientLogger = silentLogger;

const defaultTimers: WorkloadApiClientTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function invalidOption(option: string, message: string, cause?: unknown): WorkloadApiClientError {
  return new WorkloadApiClientError('ERR_WID_CLIENT_INVALID_OPTION', message, { option, cause });
}

function audiences(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...(value as unknown[])] : undefined;
  if (list === undefined || list.length === 0 || list.some((a) => typeof a !== 'string' || a === '')) {
    throw invalidOption('audience', 'audience must be specified: a non-empty string or a non-empty list of them');
  }
  return list as string[];
}

function spiffeIdOption(value: unknown): string {
  if (value === undefined) return '';
  if (value instanceof SpiffeId) return value.toString();
  if (typeof value === 'string') {
    try {
      return SpiffeId.parse(value).toString();
    } catch (cause) {
      throw invalidOption('spiffeId', `spiffeId is not a valid SPIFFE ID: ${(cause as Error).message}`, cause);
    }
  }
  throw invalidOption('spiffeId', 'spiffeId must be a SpiffeId or a string');
}

/**
 * Creates a Workload API client. Nothing connects until the first call. The address comes from `options.address`
 * or, when absent, `SPIFFE_ENDPOINT_SOCKET` in `options.env` (default `process.env`); a missing or invalid one
 * throws at once (`ERR_WID_CLIENT_ADDRESS_MISSING` / `ERR_WID_CLIENT_ADDRESS_INVALID`).
 *
 * @example
 * import { createWorkloadApiClient } from '@wid/workload-api-client';
 * import { verifyX509Svid } from '@wid/svid-issuer';
 *
 * await using client = createWorkloadApiClient({ address: 'unix:///run/spiffe/agent.sock' });
 * const ctx = await client.fetchX509Context();
 * console.log(ctx.defaultSvid().id.toString());
 * const jwt = await client.fetchJwtSvid({ audience: 'https://api.example.org' });
 * for await (const update of client.watchX509Context({ signal: AbortSignal.timeout(60_000) })) {
 *   console.log('rotated', update.defaultSvid().certificates[0]?.serialNumber);
 * }
 */
export function createWorkloadApiClient(options: WorkloadApiClientOptions = {}): WorkloadApiClient {
  const env = options.env ?? process.env;
  const address = resolveEndpointAddress(options.address, env);
  const backoff = resolveBackoff(options.backoff);
  const timers = options.timers ?? defaultTimers;
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw invalidOption('random', 'random must be a function returning [0, 1)');
  if (typeof timers.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function') {
    throw invalidOption('timers', 'timers must have setTimeout and clearTimeout functions');
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function')
    throw invalidOption('clock', 'clock must have a now() function returning a Date');
  return new Client(address, { backoff, timers, random, clock, logger: options.logger ?? silent });
}

type Method<Req, Res> = MethodDescriptor<Req, Res>;

interface ClientInternals {
  readonly backoff: ResolvedBackoff;
  readonly timers: Timers;
  readonly random: () => number;
  readonly clock: { now(): Date };
  readonly logger: WorkloadApiClientLogger;
}

class Client implements WorkloadApiClient {
  readonly address: EndpointAddress;
  readonly #transport: Transport;
  readonly #backoff: ResolvedBackoff;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #clock: { now(): Date };
  readonly #logger: WorkloadApiClientLogger;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(address: EndpointAddress, o: ClientInternals) {
    const { backoff } = o;
    this.address = address;
    this.#backoff = backoff;
    this.#timers = o.timers;
    this.#random = o.random;
    this.#clock = o.clock;
    this.#logger = o.logger;
    this.#transport = new Transport(address.target, {
      // The channel's own reconnect backoff follows the watch backoff, so a restarted agent is picked up as soon as
      // the next watch attempt is due (grpc-js defaults: 1 s .. 120 s).
      'grpc.initial_reconnect_backoff_ms': Math.max(10, backoff.initialDelayMs),
      'grpc.max_reconnect_backoff_ms': Math.max(10, backoff.maxDelayMs),
    });
  }

  static #service() {
    return loadWorkloadApiDefinition().service;
  }

  // --- public API ---

  fetchX509Context(options: CallOptions = {}): Promise<X509Context> {
    return this.#first(Client.#service().FetchX509SVID, {}, (r) => parseX509SvidResponse(r, this.#dropped), options);
  }

  watchX509Context(options: WatchOptions = {}): AsyncIterable<X509Context> {
    return this.#watch(Client.#service().FetchX509SVID, (r) => parseX509SvidResponse(r, this.#dropped), options);
  }

  fetchX509Bundles(options: CallOptions = {}): Promise<X509BundleSet> {
    return this.#first(Client.#service().FetchX509Bundles, {}, parseX509BundlesResponse, options);
  }

  watchX509Bundles(options: WatchOptions = {}): AsyncIterable<X509BundleSet> {
    return this.#watch(Client.#service().FetchX509Bundles, parseX509BundlesResponse, options);
  }

  async fetchJwtSvid(options: FetchJwtSvidOptions): Promise<JwtSvid> {
    const svids = await this.fetchJwtSvids(options);
    return svids[0]!;
  }

  async fetchJwtSvids(options: FetchJwtSvidOptions): Promise<JwtSvid[]> {
    const audience = audiences(options?.audience);
    const request: JWTSVIDRequest = { audience, spiffe_id: spiffeIdOption(options.spiffeId) };
    const res = await this.#unary(Client.#service().FetchJWTSVID, request, options);
    return parseJwtSvidResponse(res, audience, this.#clock.now(), this.#dropped);
  }

  fetchJwtBundles(options: CallOptions = {}): Promise<JwtBundleSet> {
    return this.#first(Client.#service().FetchJWTBundles, {}, parseJwtBundlesResponse, options);
  }

  watchJwtBundles(options: WatchOptions = {}): AsyncIterable<JwtBundleSet> {
    return this.#watch(Client.#service().FetchJWTBundles, parseJwtBundlesResponse, options);
  }

  async validateJwtSvid(token: string, audience: string, options: CallOptions = {}): Promise<JwtSvid> {
    if (typeof token !== 'string' || token === '') throw invalidOption('token', 'svid must be specified');
    if (typeof audience !== 'string' || audience === '') throw invalidOption('audience', 'audience must be specified');
    const request: ValidateJWTSVIDRequest = { audience, svid: token };
    const res = await this.#unary(Client.#service().ValidateJWTSVID, request, options);
    return parseValidateResponse(res, token, audience, this.#clock.now());
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new WorkloadApiClientError('ERR_WID_CLIENT_CLOSED', 'the workload API client was closed'));
      this.#transport.close();
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- internals ---

  readonly #dropped: DropReporter = (info) => {
    this.#logger.warn(info, 'dropped an SVID whose hint repeats an earlier one in the same response');
  };

  /** A call context linking the caller's signal and the client's close signal. */
  #context(signal: AbortSignal | undefined): { ctx: CallContext; dispose(): void } {
    const linked = linkSignals(this.#closing.signal, signal);
    const ctx: CallContext = {
      signal: linked.signal,
      interrupted: () => this.#interrupted(signal),
    };
    return { ctx, dispose: linked.dispose };
  }

  #interrupted(signal: AbortSignal | undefined): WorkloadApiClientError {
    if (this.#closing.signal.aborted) {
      return new WorkloadApiClientError('ERR_WID_CLIENT_CLOSED', 'the workload API client was closed', {
        address: this.address.target,
      });
    }
    return new WorkloadApiClientError('ERR_WID_CLIENT_ABORTED', 'the workload API call was aborted', {
      address: this.address.target,
      cause: signal?.reason,
    });
  }

  async #unary<Req, Res>(method: Method<Req, Res>, request: Req, options: CallOptions): Promise<Res | Undecodable> {
    const { ctx, dispose } = this.#context(options.signal);
    try {
      return await this.#transport.unary(method, request, ctx);
    } finally {
      dispose();
    }
  }

  async #first<Req, Res, Out>(
    method: Method<Req, Res>,
    request: Req,
    parse: (res: Res | Undecodable) => Out,
    options: CallOptions,
  ): Promise<Out> {
    const { ctx, dispose } = this.#context(options.signal);
    const stream = this.#transport.stream(method, request, ctx);
    try {
      const res = await stream.next();
      if (res === undefined) throw this.#endedEarly(method);
      return parse(res);
    } finally {
      stream.cancel();
      dispose();
    }
  }

  #endedEarly(method: Method<unknown, unknown>): WorkloadApiClientError {
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    return new WorkloadApiClientError('ERR_WID_CLIENT_UNAVAILABLE', `${name}: the server ended the stream`, {
      method: name,
      address: this.address.target,
    });
  }

  #watch<Res, Out>(
    method: Method<Record<string, never>, Res>,
    parse: (res: Res | Undecodable) => Out,
    options: WatchOptions,
  ): AsyncIterable<Out> {
    return {
      [Symbol.asyncIterator]: () => this.#watchLoop(method, parse, options),
    };
  }

  async *#watchLoop<Res, Out>(
    method: Method<Record<string, never>, Res>,
    parse: (res: Res | Undecodable) => Out,
    options: WatchOptions,
  ): AsyncGenerator<Out, void, undefined> {
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    const backoff = new Backoff(this.#backoff, this.#random);
    const { ctx, dispose } = this.#context(options.signal);
    try {
      for (;;) {
        let failure: WorkloadApiClientError;
        const stream = this.#transport.stream(method, {}, ctx);
        try {
          for (;;) {
            const res = await stream.next();
            if (res === undefined) throw this.#endedEarly(method);
            const value = parse(res);
            backoff.reset();
            yield value;
          }
        } catch (err) {
          failure =
            err instanceof WorkloadApiClientError
              ? err
              : new WorkloadApiClientError('ERR_WID_CLIENT_RPC_FAILED', `${name} failed: ${String(err)}`, {
                  method: name,
                  address: this.address.target,
                  cause: err,
                });
        } finally {
          stream.cancel();
        }
        if (failure.code === 'ERR_WID_CLIENT_CLOSED') return;
        // Workload API §4: InvalidArgument means the request itself is wrong; retrying cannot help.
        if (failure.code === 'ERR_WID_CLIENT_ABORTED' || failure.code === 'ERR_WID_CLIENT_INVALID_ARGUMENT') {
          throw failure;
        }
        const delayMs = backoff.next();
        this.#logger.warn(
          { method: name, code: failure.code, grpcCode: failure.grpcCode, delayMs, err: failure },
          'workload API watch failed; reconnecting',
        );
        options.onError?.(failure);
        try {
          await sleep(delayMs, this.#timers, ctx.signal);
        } catch {
          const stop = ctx.interrupted();
          if (stop.code === 'ERR_WID_CLIENT_CLOSED') return;
          throw stop;
        }
      }
    } finally {
      dispose();
    }
  }
}
