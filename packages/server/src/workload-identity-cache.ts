import { WorkloadIdentityCacheImpl } from './internal/cache.js';
import type { IdentitySelector, IssuanceService } from './issuance-service.js';
import type { Clock, ServerLogger, Timers } from './logger.js';
import type {
  JwtBundleSet,
  JwtSvidRequest,
  ValidatedJwtSvid,
  WorkloadAttributes,
  WorkloadJwtSvid,
  X509BundleSet,
  X509Context,
} from './workload-source-types.js';

/** Retry schedule when issuance fails: exponential backoff from `initialDelayMs`, doubling, up to `maxDelayMs`. */
export interface RetryOptions {
  /** Default 1000 ms. */
  readonly initialDelayMs?: number;
  /** Default 60 000 ms. */
  readonly maxDelayMs?: number;
}

/** Options of {@link createWorkloadIdentityCache}. */
export interface WorkloadIdentityCacheOptions {
  /** Who decides and signs (the in-process service, or later a network client). */
  readonly issuance: IssuanceService;
  /** Which workload identity resources this Workload API socket serves. */
  readonly selector: IdentitySelector;
  /** Requested SVID lifetime in seconds (tbot's `credential_ttl`); clamped by the rules and the CA. Default: the rules' default. */
  readonly ttlSeconds?: number;
  /** `join.*` attributes added to every request (joined mode). */
  readonly join?: Readonly<Record<string, unknown>>;
  /** `user.*` attributes added to every request. */
  readonly user?: Readonly<Record<string, unknown>>;
  /** Time source. Default: the system clock. */
  readonly clock?: Clock;
  /** Timer seam for renewals and retries. Default: global timers, unref'd. */
  readonly timers?: Timers;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: ServerLogger;
  /**
   * Renewal jitter as a fraction of the lifetime: an SVID renews at `(0.5 ± renewJitter/2) × lifetime` after it was
   * issued. Default 0.1 (renew between 45 % and 55 %). 0 renews at exactly half.
   */
  readonly renewJitter?: number;
  /**
   * Upper bound, in seconds, on how long an SVID is served before it is renewed (tbot's `renewal_interval`): renewal
   * happens at the earlier of about half the lifetime and this interval after issue. Default: no bound.
   */
  readonly renewAfterSeconds?: number;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Backoff when issuance fails. */
  readonly retry?: RetryOptions;
  /**
   * Most JWT-SVIDs kept cached (one per identity and distinct audience list); past it the least recently used are
   * dropped, so callers asking for ever new audiences cannot grow the cache. Default 1024.
   */
  readonly maxJwtEntries?: number;
}

/** Counters of a {@link WorkloadIdentityCache} (for metrics and tests). */
export interface WorkloadIdentityCacheStats {
  /** Cached X.509-SVIDs (one per distinct decision). */
  readonly x509Entries: number;
  /** Open X.509 context streams. */
  readonly x509Streams: number;
  /** Cached JWT-SVIDs. */
  readonly jwtEntries: number;
  /** X.509-SVIDs signed so far (first issuance and renewals). */
  readonly x509Issued: number;
  /** Issuance calls that failed. */
  readonly failures: number;
}

/**
 * The agent's SVID cache in front of an {@link IssuanceService}. It is a Workload API identity source (the
 * `WorkloadIdentitySource` of @wid/workload-api-server, matched structurally) plus lifecycle.
 *
 * - Cached by decision (SPIFFE ID + resource revision + parameters): processes that earn the same identity share
 *   one SVID (one signature).
 * - One renewal timer per cached SVID, at about half its lifetime (with jitter); the renewed SVID is pushed to
 *   every open stream holding it. Bundle changes (CA rotation) and rule reloads are pushed too.
 * - Issuance failing: the still-valid cached SVID keeps being served, renewal retries with backoff, errors logged.
 * - Entries no open stream uses are evicted once expired.
 * - No identity: throws `ERR_WID_WORKLOAD_NO_IDENTITY`; an invalid token in `validateJwtSvid`: `ERR_WID_WORKLOAD_INVALID_TOKEN`.
 */
export interface WorkloadIdentityCache {
  watchX509Context(attributes: WorkloadAttributes, signal: AbortSignal): AsyncIterable<X509Context>;
  fetchJwtSvids(
    attributes: WorkloadAttributes,
    request: JwtSvidRequest,
    signal?: AbortSignal,
  ): Promise<readonly WorkloadJwtSvid[]>;
  watchX509Bundles(signal: AbortSignal, attributes?: WorkloadAttributes): AsyncIterable<X509BundleSet>;
  watchJwtBundles(signal: AbortSignal, attributes?: WorkloadAttributes): AsyncIterable<JwtBundleSet>;
  validateJwtSvid(
    token: string,
    audience: string,
    attributes?: WorkloadAttributes,
    signal?: AbortSignal,
  ): Promise<ValidatedJwtSvid>;
  stats(): WorkloadIdentityCacheStats;
  /** Ends every open stream, cancels timers, drops the cache. Does not close the issuance service. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Creates the agent's SVID cache. Plug it into the Workload API server as its identity source.
 *
 * @example
 * const cache = createWorkloadIdentityCache({ issuance, selector: { labels: { env: ['prod'] } }, logger });
 * const server = createWorkloadApiServer({ listen: 'unix:///run/wid/agent.sock', attestors, identities: cache });
 * // on shutdown:
 * await server.close(); cache.close();
 */
export function createWorkloadIdentityCache(options: WorkloadIdentityCacheOptions): WorkloadIdentityCache {
  return new WorkloadIdentityCacheImpl(options);
}
