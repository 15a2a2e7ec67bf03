import { createHash, generateKeyPairSync } from 'node:crypto';
import { isWidError } from '@wid/spiffe-id';
import type { SpiffeBundle } from '@wid/svid-issuer';
import { ServerError } from '../errors.js';
import type {
  DecidedIdentity,
  IdentitySelector,
  IssuanceDenial,
  IssuanceService,
  IssuedX509Credential,
} from '../issuance-service.js';
import {
  type Clock,
  MAX_TIMER_MS,
  type ServerLogger,
  SILENT_LOGGER,
  SYSTEM_CLOCK,
  SYSTEM_TIMERS,
  type Timers,
} from '../logger.js';
import type {
  WorkloadIdentityCache,
  WorkloadIdentityCacheOptions,
  WorkloadIdentityCacheStats,
} from '../workload-identity-cache.js';
import type {
  JwtBundleSet,
  JwtSvidRequest,
  ValidatedJwtSvid,
  WorkloadAttributes,
  WorkloadJwtSvid,
  WorkloadX509Svid,
  X509BundleSet,
  X509Context,
} from '../workload-source-types.js';

const EMPTY_FEDERATED: ReadonlyMap<string, readonly Uint8Array[]> = new Map();
const JWT_SWEEP_THRESHOLD = 64;
const DEFAULT_MAX_JWT_ENTRIES = 1024;

/**
 * The JWT cache key: a fixed-size digest of the decision key and the canonical (deduplicated, sorted) audience list,
 * so a caller's audience strings are never kept as map keys.
 */
function jwtKey(decisionKey: string, audience: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([decisionKey, audience]))
    .digest('base64url');
}

/** Wakes a waiting stream; coalesces changes (streams always send the full current state). */
class Waiter {
  dirty = false;
  #resolve: (() => void) | undefined;

  wake(dirty = true): void {
    if (dirty) this.dirty = true;
    const r = this.#resolve;
    this.#resolve = undefined;
    r?.();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}

interface X509Entry {
  readonly key: string;
  readonly spiffeId: string;
  readonly resource: string;
  hint: string | undefined;
  certChain: readonly Uint8Array[];
  privateKeyDer: Uint8Array;
  issuedAt: number;
  expiresAt: number;
  readonly refs: Set<X509Stream>;
  timer: unknown;
  retryMs: number;
}

interface X509Stream {
  readonly attributes: WorkloadAttributes;
  readonly waiter: Waiter;
  entries: X509Entry[];
  error: unknown;
  retryTimer: unknown;
  retryMs: number;
}

interface JwtEntry {
  readonly svid: WorkloadJwtSvid;
  readonly renewAt: number;
  readonly expiresAt: number;
}

function badOption(key: string, message: string): ServerError {
  return new ServerError('ERR_WID_SERVER_INVALID_OPTION', `option "${key}": ${message}`, { key });
}

function noIdentity(
  denials: readonly IssuanceDenial[],
  what = 'no workload identity rule grants this caller an identity',
): ServerError {
  const detail = denials.map((d) => `${d.resource}: ${d.reason}`).join('; ');
  return new ServerError('ERR_WID_WORKLOAD_NO_IDENTITY', detail === '' ? what : `${what} (${detail})`, {
    denials: denials.map((d) => ({ resource: d.resource, code: d.code, reason: d.reason })),
  });
}

function closedError(): ServerError {
  return new ServerError('ERR_WID_SERVER_CLOSED', 'the workload identity cache was closed');
}

/** @internal See createWorkloadIdentityCache. */
export class WorkloadIdentityCacheImpl implements WorkloadIdentityCache {
  readonly #issuance: IssuanceService;
  readonly #selector: IdentitySelector;
  readonly #ttlSeconds: number | undefined;
  readonly #join: Readonly<Record<string, unknown>> | undefined;
  readonly #user: Readonly<Record<string, unknown>> | undefined;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #log: ServerLogger;
  readonly #jitter: number;
  readonly #renewAfterMs: number;
  readonly #random: () => number;
  readonly #retryInitial: number;
  readonly #retryMax: number;
  readonly #maxJwtEntries: number;

  readonly #entries = new Map<string, X509Entry>();
  readonly #inflight = new Map<string, Promise<X509Entry>>();
  readonly #streams = new Set<X509Stream>();
  readonly #bundleWaiters = new Set<Waiter>();
  readonly #jwt = new Map<string, JwtEntry>();
  readonly #jwtInflight = new Map<string, Promise<WorkloadJwtSvid>>();
  #bundle: SpiffeBundle | undefined;
  #bundlePromise: Promise<SpiffeBundle> | undefined;
  #closed = false;
  readonly #unsubscribe: (() => void)[] = [];
  #x509Issued = 0;
  #failures = 0;

  constructor(o: WorkloadIdentityCacheOptions) {
    if (typeof o !== 'object' || o === null) throw badOption('options', 'must be an object');
    const issuance = o.issuance;
    if (typeof issuance?.issueX509 !== 'function' || typeof issuance.decide !== 'function') {
      throw badOption('issuance', 'must be an IssuanceService');
    }
    this.#issuance = issuance;
    const s = o.selector as unknown;
    const hasNames = typeof s === 'object' && s !== null && Array.isArray((s as { names?: unknown }).names);
    const hasLabels =
      typeof s === 'object' &&
      s !== null &&
      typeof (s as { labels?: unknown }).labels === 'object' &&
      (s as { labels?: unknown }).labels !== null;
    if (hasNames === hasLabels) throw badOption('selector', 'must be { names: [...] } or { labels: {...} }');
    this.#selector = o.selector;
    if (o.ttlSeconds !== undefined && (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1)) {
      throw badOption('ttlSeconds', `must be a whole number of seconds ≥ 1, got ${String(o.ttlSeconds)}`);
    }
    this.#ttlSeconds = o.ttlSeconds;
    this.#join = o.join;
    this.#user = o.user;
    const clock = o.clock ?? SYSTEM_CLOCK;
    if (typeof clock?.now !== 'function') throw badOption('clock', 'must have a now(): Date method');
    this.#clock = clock;
    const timers = o.timers ?? SYSTEM_TIMERS;
    if (typeof timers?.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function') {
      throw badOption('timers', 'must have setTimeout and clearTimeout');
    }
    this.#timers = timers;
    this.#log = o.logger ?? SILENT_LOGGER;
    const jitter = o.renewJitter ?? 0.1;
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 0.5)) {
      throw badOption('renewJitter', `must be a fraction between 0 and 0.5, got ${String(jitter)}`);
    }
    this.#jitter = jitter;
    const renewAfter = o.renewAfterSeconds;
    if (
      renewAfter !== undefined &&
      !(typeof renewAfter === 'number' && Number.isFinite(renewAfter) && renewAfter > 0)
    ) {
      throw badOption('renewAfterSeconds', `must be a positive number of seconds, got ${String(renewAfter)}`);
    }
    this.#renewAfterMs = renewAfter === undefined ? Number.POSITIVE_INFINITY : renewAfter * 1000;
    this.#random = o.random ?? Math.random;
    this.#retryInitial = o.retry?.initialDelayMs ?? 1000;
    this.#retryMax = o.retry?.maxDelayMs ?? 60_000;
    if (!(Number.isFinite(this.#retryInitial) && this.#retryInitial > 0)) {
      throw badOption('retry.initialDelayMs', 'must be a positive number of milliseconds');
    }
    if (!(Number.isFinite(this.#retryMax) && this.#retryMax >= this.#retryInitial)) {
      throw badOption('retry.maxDelayMs', 'must be a number of milliseconds ≥ retry.initialDelayMs');
    }
    const maxJwt = o.maxJwtEntries ?? DEFAULT_MAX_JWT_ENTRIES;
    if (!Number.isInteger(maxJwt) || maxJwt < 1) {
      throw badOption('maxJwtEntries', `must be a whole number ≥ 1, got ${String(o.maxJwtEntries)}`);
    }
    this.#maxJwtEntries = maxJwt;
    this.#unsubscribe.push(issuance.onBundleChange((bundle) => this.#onBundle(bundle)));
    this.#unsubscribe.push(issuance.onIdentitiesChange(() => this.#onIdentities()));
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #base(attributes: WorkloadAttributes) {
    return {
      attributes,
      ...(this.#join === undefined ? {} : { join: this.#join }),
      ...(this.#user === undefined ? {} : { user: this.#user }),
    };
  }

  // ---- bundle ----

  async #currentBundle(): Promise<SpiffeBundle> {
    if (this.#bundle !== undefined) return this.#bundle;
    this.#bundlePromise ??= this.#issuance.bundle().then(
      (b) => {
        this.#bundle ??= b;
        this.#bundlePromise = undefined;
        return this.#bundle;
      },
      (err: unknown) => {
        this.#bundlePromise = undefined;
        throw err;
      },
    );
    return this.#bundlePromise;
  }

  #onBundle(bundle: SpiffeBundle): void {
    this.#bundle = bundle;
    this.#log.info({ trustDomain: bundle.trustDomain.name, sequence: String(bundle.sequence) }, 'trust bundle changed');
    for (const s of this.#streams) s.waiter.wake();
    for (const w of this.#bundleWaiters) w.wake();
  }

  #onIdentities(): void {
    this.#jwt.clear();
    for (const s of this.#streams) this.#refreshInBackground(s);
  }

  // ---- X.509 ----

  watchX509Context(attributes: WorkloadAttributes, signal: AbortSignal): AsyncIterable<X509Context> {
    return this.#watchX509(attributes, signal);
  }

  async *#watchX509(attributes: WorkloadAttributes, signal: AbortSignal): AsyncGenerator<X509Context> {
    if (this.#closed) throw closedError();
    const stream: X509Stream = {
      attributes,
      waiter: new Waiter(),
      entries: [],
      error: undefined,
      retryTimer: undefined,
      retryMs: 0,
    };
    const onAbort = () => stream.waiter.wake(false);
    signal?.addEventListener('abort', onAbort);
    this.#streams.add(stream);
    try {
      if (signal?.aborted) return;
      await this.#refresh(stream);
      while (!signal?.aborted && !this.#closed) {
        if (stream.error !== undefined) throw stream.error;
        if (stream.waiter.dirty) {
          stream.waiter.dirty = false;
          const bundle = await this.#currentBundle();
          if (signal?.aborted || this.#closed) return;
          if (stream.error !== undefined) throw stream.error;
          yield this.#context(stream, bundle);
          continue;
        }
        await stream.waiter.wait();
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#detach(stream);
    }
  }

  #context(stream: X509Stream, bundle: SpiffeBundle): X509Context {
    const bundleDer = bundle.x509Authorities().map((c) => new Uint8Array(c.raw));
    const svids: WorkloadX509Svid[] = stream.entries.map((e) => ({
      spiffeId: e.spiffeId,
      certChain: e.certChain,
      privateKey: e.privateKeyDer,
      bundle: bundleDer,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
    }));
    return { svids, federatedBundles: EMPTY_FEDERATED };
  }

  /** Re-decides the stream's identities and attaches it to their (possibly shared) cache entries. */
  async #refresh(stream: X509Stream): Promise<void> {
    const { identities, denials } = await this.#issuance.decide({
      ...this.#base(stream.attributes),
      selector: this.#selector,
      svidType: 'x509',
      ...(this.#ttlSeconds === undefined ? {} : { ttlSeconds: this.#ttlSeconds }),
    });
    if (identities.length === 0) throw noIdentity(denials);
    const entries = await Promise.all(identities.map((id) => this.#ensure(id, stream.attributes)));
    if (!this.#streams.has(stream)) return; // closed meanwhile
    const old = stream.entries;
    const unique = [...new Set(entries)];
    stream.entries = unique;
    for (const e of unique) e.refs.add(stream);
    for (const e of old) if (!unique.includes(e)) this.#release(e, stream);
    stream.retryMs = 0;
    stream.waiter.wake();
  }

  #refreshInBackground(stream: X509Stream): void {
    this.#refresh(stream).catch((err: unknown) => {
      if (!this.#streams.has(stream)) return;
      if (isWidError(err, 'ERR_WID_WORKLOAD_NO_IDENTITY')) {
        this.#log.info(
          { err: { code: err.code, message: err.message } },
          'workload no longer has an identity; ending its stream',
        );
        stream.error = err;
        stream.waiter.wake();
        return;
      }
      this.#failures++;
      stream.retryMs = Math.min(stream.retryMs === 0 ? this.#retryInitial : stream.retryMs * 2, this.#retryMax);
      this.#log.warn(
        { err, retryInMs: stream.retryMs },
        'cannot re-decide the identities of an open stream; serving the cached SVIDs',
      );
      if (stream.retryTimer !== undefined) this.#timers.clearTimeout(stream.retryTimer);
      stream.retryTimer = this.#timers.setTimeout(() => {
        stream.retryTimer = undefined;
        if (this.#streams.has(stream) && !this.#closed) this.#refreshInBackground(stream);
      }, stream.retryMs);
    });
  }

  #valid(e: X509Entry): boolean {
    return this.#now() < e.expiresAt;
  }

  /** The cached entry for this decision, issuing one (once, however many callers wait) when missing or expired. */
  #ensure(id: DecidedIdentity, attributes: WorkloadAttributes): Promise<X509Entry> {
    const cached = this.#entries.get(id.key);
    if (cached !== undefined && this.#valid(cached)) return Promise.resolve(cached);
    let p = this.#inflight.get(id.key);
    if (p === undefined) {
      p = this.#issue(id.resource, attributes).then(
        (r) => {
          this.#inflight.delete(id.key);
          if (r.credential.key !== id.key) {
            this.#log.debug(
              { decided: id.key, issued: r.credential.key },
              'the decision changed between decide and issue',
            );
          }
          return this.#store(r.credential, r.privateKeyDer);
        },
        (err: unknown) => {
          this.#inflight.delete(id.key);
          throw err;
        },
      );
      this.#inflight.set(id.key, p);
    }
    return p;
  }

  /** Signs one X.509-SVID for `resource`, with a key generated here (the private key never leaves this process). */
  async #issue(
    resource: string,
    attributes: WorkloadAttributes,
  ): Promise<{ credential: IssuedX509Credential; privateKeyDer: Uint8Array }> {
    // DER straight from generation: the CA takes SPKI DER on its fast path (a KeyObject costs an OpenSSL SPKI
    // re-encode, ~3x slower issuance), and the Workload API wants PKCS#8 DER anyway.
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    let result: Awaited<ReturnType<IssuanceService['issueX509']>>;
    try {
      result = await this.#issuance.issueX509({
        ...this.#base(attributes),
        selector: { names: [resource] },
        publicKey,
        ...(this.#ttlSeconds === undefined ? {} : { ttlSeconds: this.#ttlSeconds }),
      });
    } catch (err) {
      this.#failures++;
      throw err;
    }
    const credential = result.credentials[0];
    if (credential === undefined) throw noIdentity(result.denials);
    this.#x509Issued++;
    return { credential, privateKeyDer: new Uint8Array(privateKey) };
  }

  #store(c: IssuedX509Credential, privateKeyDer: Uint8Array): X509Entry {
    let e = this.#entries.get(c.key);
    if (e === undefined) {
      e = {
        key: c.key,
        spiffeId: c.spiffeId,
        resource: c.resource,
        hint: c.hint,
        certChain: c.certChain,
        privateKeyDer,
        issuedAt: c.issuedAt.getTime(),
        expiresAt: c.expiresAt.getTime(),
        refs: new Set(),
        timer: undefined,
        retryMs: 0,
      };
      this.#entries.set(c.key, e);
    } else {
      e.hint = c.hint;
      e.certChain = c.certChain;
      e.privateKeyDer = privateKeyDer;
      e.issuedAt = c.issuedAt.getTime();
      e.expiresAt = c.expiresAt.getTime();
    }
    e.retryMs = 0;
    this.#log.info(
      {
        spiffeId: c.spiffeId,
        resource: c.resource,
        serialNumber: c.serialNumber,
        expiresAt: c.expiresAt.toISOString(),
      },
      'X.509-SVID cached',
    );
    this.#scheduleRenewal(e);
    for (const s of e.refs) s.waiter.wake();
    return e;
  }

  #setTimer(e: X509Entry, delayMs: number, fn: () => void): void {
    if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    e.timer = this.#timers.setTimeout(
      () => {
        e.timer = undefined;
        if (!this.#closed) fn();
      },
      Math.min(Math.max(0, delayMs), MAX_TIMER_MS),
    );
  }

  #scheduleRenewal(e: X509Entry): void {
    const lifetime = e.expiresAt - e.issuedAt;
    const fraction = 0.5 + this.#jitter * (this.#random() - 0.5);
    const at = e.issuedAt + Math.min(lifetime * fraction, this.#renewAfterMs);
    this.#setTimer(e, at - this.#now(), () => this.#renew(e));
  }

  #renew(e: X509Entry): void {
    if (this.#entries.get(e.key) !== e) return;
    const holder = e.refs.values().next().value;
    if (holder === undefined) {
      // Nobody uses it: keep it for reuse until it expires, then drop it.
      if (this.#valid(e)) this.#setTimer(e, e.expiresAt - this.#now(), () => this.#evictIfUnused(e));
      else this.#evictIfUnused(e);
      return;
    }
    this.#issue(e.resource, holder.attributes).then(
      (r) => {
        if (this.#closed) return;
        if (r.credential.key === e.key) {
          this.#store(r.credential, r.privateKeyDer);
          return;
        }
        // The decision changed (rules or attributes): cache the new SVID and let every holder re-decide.
        this.#store(r.credential, r.privateKeyDer);
        for (const s of [...e.refs]) this.#refreshInBackground(s);
      },
      (err: unknown) => {
        if (this.#closed) return;
        if (isWidError(err, 'ERR_WID_WORKLOAD_NO_IDENTITY')) {
          for (const s of [...e.refs]) this.#refreshInBackground(s);
          return;
        }
        e.retryMs = Math.min(e.retryMs === 0 ? this.#retryInitial : e.retryMs * 2, this.#retryMax);
        this.#log.warn(
          {
            err,
            spiffeId: e.spiffeId,
            expiresAt: new Date(e.expiresAt).toISOString(),
            stillValid: this.#valid(e),
            retryInMs: e.retryMs,
          },
          'cannot renew the X.509-SVID; serving the cached one and retrying',
        );
        this.#setTimer(e, e.retryMs, () => this.#renew(e));
      },
    );
  }

  #release(e: X509Entry, stream: X509Stream): void {
    e.refs.delete(stream);
    if (e.refs.size === 0 && !this.#valid(e)) this.#evictIfUnused(e);
  }

  #evictIfUnused(e: X509Entry): void {
    if (e.refs.size > 0 || this.#entries.get(e.key) !== e) return;
    if (this.#valid(e)) {
      this.#setTimer(e, e.expiresAt - this.#now(), () => this.#evictIfUnused(e));
      return;
    }
    if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    e.timer = undefined;
    this.#entries.delete(e.key);
    this.#log.debug({ spiffeId: e.spiffeId, key: e.key }, 'expired X.509-SVID evicted');
  }

  #detach(stream: X509Stream): void {
    if (!this.#streams.delete(stream)) return;
    if (stream.retryTimer !== undefined) this.#timers.clearTimeout(stream.retryTimer);
    for (const e of stream.entries) this.#release(e, stream);
    stream.entries = [];
  }

  // ---- JWT ----

  async fetchJwtSvids(
    attributes: WorkloadAttributes,
    request: JwtSvidRequest,
    _signal?: AbortSignal,
  ): Promise<readonly WorkloadJwtSvid[]> {
    if (this.#closed) throw closedError();
    const audience = [...new Set(request.audience)].sort();
    const { identities, denials } = await this.#issuance.decide({
      ...this.#base(attributes),
      selector: this.#selector,
      svidType: 'jwt',
    });
    const wanted =
      request.spiffeId === undefined ? identities : identities.filter((i) => i.spiffeId === request.spiffeId);
    if (wanted.length === 0) {
      throw noIdentity(
        denials,
        request.spiffeId === undefined
          ? 'no workload identity rule grants this caller an identity'
          : `this caller is not granted "${request.spiffeId}"`,
      );
    }
    this.#sweepJwt();
    return Promise.all(wanted.map((id) => this.#jwtFor(id, attributes, audience)));
  }

  #jwtFor(id: DecidedIdentity, attributes: WorkloadAttributes, audience: string[]): Promise<WorkloadJwtSvid> {
    const key = jwtKey(id.key, audience);
    const cached = this.#jwt.get(key);
    if (cached !== undefined && this.#now() < cached.renewAt) {
      // Least recently used first: move a hit to the end of the map's order.
      this.#jwt.delete(key);
      this.#jwt.set(key, cached);
      return Promise.resolve(cached.svid);
    }
    let p = this.#jwtInflight.get(key);
    if (p === undefined) {
      p = this.#issuance
        .issueJwt({ ...this.#base(attributes), selector: { names: [id.resource] }, audience, spiffeId: id.spiffeId })
        .then(
          (r) => {
            this.#jwtInflight.delete(key);
            const c = r.credentials[0];
            if (c === undefined) throw noIdentity(r.denials);
            const svid: WorkloadJwtSvid = {
              spiffeId: c.spiffeId,
              token: c.token,
              ...(c.hint === undefined ? {} : { hint: c.hint }),
            };
            const issuedAt = c.issuedAt.getTime();
            const expiresAt = c.expiresAt.getTime();
            this.#jwt.delete(key);
            this.#jwt.set(key, { svid, renewAt: issuedAt + (expiresAt - issuedAt) / 2, expiresAt });
            this.#evictJwtOverCap();
            return svid;
          },
          (err: unknown) => {
            this.#jwtInflight.delete(key);
            if (!isWidError(err, 'ERR_WID_WORKLOAD_NO_IDENTITY')) this.#failures++;
            throw err;
          },
        );
      this.#jwtInflight.set(key, p);
    }
    return p;
  }

  /** Drops entries due for renewal (once there are a few), then the least recently used ones over the cap. */
  #sweepJwt(): void {
    if (this.#jwt.size >= JWT_SWEEP_THRESHOLD) {
      const now = this.#now();
      for (const [k, v] of this.#jwt) if (now >= v.renewAt) this.#jwt.delete(k);
    }
    this.#evictJwtOverCap();
  }

  #evictJwtOverCap(): void {
    if (this.#jwt.size <= this.#maxJwtEntries) return;
    let evicted = 0;
    for (const k of this.#jwt.keys()) {
      if (this.#jwt.size <= this.#maxJwtEntries) break;
      this.#jwt.delete(k);
      evicted++;
    }
    this.#log.debug({ evicted, maxJwtEntries: this.#maxJwtEntries }, 'least recently used JWT-SVIDs evicted');
  }

  async validateJwtSvid(token: string, audience: string): Promise<ValidatedJwtSvid> {
    if (this.#closed) throw closedError();
    try {
      return await this.#issuance.validateJwtSvid(token, audience);
    } catch (err) {
      if (isWidError(err, 'ERR_WID_SERVER_INVALID_JWT_SVID') || isWidError(err, 'ERR_WID_SERVER_INVALID_REQUEST')) {
        throw new ServerError('ERR_WID_WORKLOAD_INVALID_TOKEN', (err as Error).message, { cause: err });
      }
      throw err;
    }
  }

  // ---- bundle streams ----

  watchX509Bundles(signal: AbortSignal): AsyncIterable<X509BundleSet> {
    return this.#watchBundle(signal, (b) => ({
      bundles: new Map([[b.trustDomain.idString(), b.x509Authorities().map((c) => new Uint8Array(c.raw))]]),
    }));
  }

  watchJwtBundles(signal: AbortSignal): AsyncIterable<JwtBundleSet> {
    return this.#watchBundle(signal, (b) => ({
      bundles: new Map([[b.trustDomain.idString(), new TextEncoder().encode(b.jwtBundle().marshal())]]),
    }));
  }

  async *#watchBundle<T>(signal: AbortSignal, map: (b: SpiffeBundle) => T): AsyncGenerator<T> {
    if (this.#closed) throw closedError();
    const waiter = new Waiter();
    waiter.dirty = true;
    const onAbort = () => waiter.wake(false);
    signal?.addEventListener('abort', onAbort);
    this.#bundleWaiters.add(waiter);
    try {
      while (!signal?.aborted && !this.#closed) {
        if (waiter.dirty) {
          waiter.dirty = false;
          const b = await this.#currentBundle();
          if (signal?.aborted || this.#closed) return;
          yield map(b);
          continue;
        }
        await waiter.wait();
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#bundleWaiters.delete(waiter);
    }
  }

  // ---- lifecycle ----

  stats(): WorkloadIdentityCacheStats {
    return {
      x509Entries: this.#entries.size,
      x509Streams: this.#streams.size,
      jwtEntries: this.#jwt.size,
      x509Issued: this.#x509Issued,
      failures: this.#failures,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    for (const e of this.#entries.values()) if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    for (const s of this.#streams) {
      if (s.retryTimer !== undefined) this.#timers.clearTimeout(s.retryTimer);
      s.waiter.wake(false);
    }
    for (const w of this.#bundleWaiters) w.wake(false);
    this.#entries.clear();
    this.#jwt.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
