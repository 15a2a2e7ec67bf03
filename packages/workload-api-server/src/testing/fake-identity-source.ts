import { SpiffeId } from '@wid/spiffe-id';
import type { WorkloadAttributes } from '../attestor.js';
import { WorkloadIdentityError } from '../errors.js';
import type {
  JwtBundleSet,
  JwtSvidRequest,
  ValidatedJwtSvid,
  WorkloadIdentitySource,
  WorkloadJwtSvid,
  WorkloadX509Svid,
  X509BundleSet,
  X509Context,
} from '../identity-source.js';

/** Options of {@link FakeWorkloadIdentitySource}: fixed data, no issuer. */
export interface FakeWorkloadIdentitySourceOptions {
  /** The X.509 context callers get (filtered per caller by `selectSvids`). */
  readonly x509Context: X509Context;
  /** Streamed by FetchX509Bundles. Default: the trust domain of every SVID with its `bundle`, plus the federated ones. */
  readonly x509Bundles?: X509BundleSet;
  /** Streamed by FetchJWTBundles. Default: no bundles. */
  readonly jwtBundles?: JwtBundleSet;
  /** Which of the context's SVIDs a caller gets (e.g. by `workload.unix.uid`). Default: all. */
  readonly selectSvids?: (svid: WorkloadX509Svid, attributes: WorkloadAttributes) => boolean;
  /** Whether a caller gets anything at all; `false` answers ERR_WID_WORKLOAD_NO_IDENTITY. Default: everyone. */
  readonly allow?: (attributes: WorkloadAttributes) => boolean;
  /** Mints a JWT-SVID. Default: an unsigned canned token (`alg: none`) that the default validator accepts. */
  readonly mintJwt?: (spiffeId: string, audience: readonly string[]) => string;
  /** Validates a token. Default: accepts the default canned tokens whose `aud` contains `audience`. */
  readonly validateJwt?: (token: string, audience: string) => ValidatedJwtSvid;
  /** Record every call in `calls`. Default `true`; turn off for load tests holding thousands of streams. */
  readonly recordCalls?: boolean;
}

/** One call the fake served, for tests to assert on the attributes the server passed. */
export interface FakeSourceCall {
  readonly method: 'watchX509Context' | 'fetchJwtSvids' | 'watchX509Bundles' | 'watchJwtBundles' | 'validateJwtSvid';
  readonly attributes: WorkloadAttributes;
}

interface Watcher {
  refresh(): void;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function defaultMint(spiffeId: string, audience: readonly string[]): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64url({ alg: 'none', typ: 'JWT', kid: 'fake' })}.${b64url({ sub: spiffeId, aud: audience, exp: now + 300, iat: now })}.fake`;
}

function defaultValidate(token: string, audience: string): ValidatedJwtSvid {
  const invalid = (reason: string) => new WorkloadIdentityError('ERR_WID_WORKLOAD_INVALID_TOKEN', reason);
  const parts = token.split('.');
  if (parts.length !== 3 || parts[2] !== 'fake')
    throw invalid('token is not a canned token of FakeWorkloadIdentitySource');
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new WorkloadIdentityError('ERR_WID_WORKLOAD_INVALID_TOKEN', 'token payload is not JSON', { cause });
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(audience))
    throw invalid(`expected audience in ${JSON.stringify(aud)} (audience=${JSON.stringify(audience)})`);
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) throw invalid('token has expired');
  if (typeof claims.sub !== 'string') throw invalid('token has no subject');
  return { spiffeId: claims.sub, claims };
}

function defaultX509Bundles(ctx: X509Context): X509BundleSet {
  const bundles = new Map<string, readonly Uint8Array[]>();
  for (const svid of ctx.svids) {
    const td = SpiffeId.parse(svid.spiffeId).trustDomain.idString();
    if (!bundles.has(td)) bundles.set(td, svid.bundle);
  }
  for (const [td, certs] of ctx.federatedBundles) bundles.set(td, certs);
  return { bundles, ...(ctx.crl === undefined ? {} : { crl: ctx.crl }) };
}

/**
 * A {@link WorkloadIdentitySource} over fixed data for tests: push rotations and bundle changes, deny callers, make
 * the source fail, and read back the attributes it was called with. Streams follow the real contract: the current
 * state at once, the full state again on every change, prompt end on abort.
 *
 * @example
 * import { FakeWorkloadIdentitySource } from '@wid/workload-api-server/testing';
 * const identities = new FakeWorkloadIdentitySource({ x509Context: { svids: [svid], federatedBundles: new Map() } });
 * identities.setAllow((attrs) => (attrs.workload as any)?.unix?.uid === 1000);
 * identities.setX509Context(rotated); // every open FetchX509SVID stream receives it
 */
export class FakeWorkloadIdentitySource implements WorkloadIdentitySource {
  /** Every call served, in order. */
  readonly calls: FakeSourceCall[] = [];
  #x509: X509Context;
  #x509Bundles: X509BundleSet;
  #x509BundlesDerived: boolean;
  #jwtBundles: JwtBundleSet;
  #allow: (attributes: WorkloadAttributes) => boolean;
  readonly #selectSvids: FakeWorkloadIdentitySourceOptions['selectSvids'];
  readonly #mintJwt: (spiffeId: string, audience: readonly string[]) => string;
  readonly #validateJwt: (token: string, audience: string) => ValidatedJwtSvid;
  #failure: unknown;
  readonly #record: boolean;
  readonly #watchers = new Set<Watcher>();
  readonly #watcherWaiters = new Set<() => void>();

  constructor(options: FakeWorkloadIdentitySourceOptions) {
    this.#x509 = options.x509Context;
    this.#x509BundlesDerived = options.x509Bundles === undefined;
    this.#x509Bundles = options.x509Bundles ?? defaultX509Bundles(options.x509Context);
    this.#jwtBundles = options.jwtBundles ?? { bundles: new Map() };
    this.#allow = options.allow ?? (() => true);
    this.#selectSvids = options.selectSvids;
    this.#mintJwt = options.mintJwt ?? defaultMint;
    this.#validateJwt = options.validateJwt ?? defaultValidate;
    this.#record = options.recordCalls ?? true;
  }

  #note(method: FakeSourceCall['method'], attributes: WorkloadAttributes): void {
    if (this.#record) this.calls.push({ method, attributes });
  }

  /** Number of open watch streams (all kinds). */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** Resolves once at least `count` watch streams are open. */
  waitForWatchers(count: number): Promise<void> {
    if (this.#watchers.size >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.#watchers.size >= count) {
          this.#watcherWaiters.delete(check);
          resolve();
        }
      };
      this.#watcherWaiters.add(check);
    });
  }

  /** Rotation: replaces the X.509 context and pushes it to every open stream (X.509 bundles follow if derived). */
  setX509Context(context: X509Context): void {
    this.#x509 = context;
    if (this.#x509BundlesDerived) this.#x509Bundles = defaultX509Bundles(context);
    this.#refreshAll();
  }

  /** Replaces the X.509 bundles and pushes them (stops deriving them from the context). */
  setX509Bundles(bundles: X509BundleSet): void {
    this.#x509BundlesDerived = false;
    this.#x509Bundles = bundles;
    this.#refreshAll();
  }

  /** Replaces the JWT bundles and pushes them. */
  setJwtBundles(bundles: JwtBundleSet): void {
    this.#jwtBundles = bundles;
    this.#refreshAll();
  }

  /** Replaces the allow predicate; open streams of callers now denied fail with ERR_WID_WORKLOAD_NO_IDENTITY. */
  setAllow(allow: (attributes: WorkloadAttributes) => boolean): void {
    this.#allow = allow;
    this.#refreshAll();
  }

  /** Makes every call (and every open stream, at once) fail with `error`; `undefined` heals the source. */
  failWith(error: unknown): void {
    this.#failure = error;
    if (error !== undefined) this.#refreshAll();
  }

  #refreshAll(): void {
    for (const watcher of [...this.#watchers]) watcher.refresh();
  }

  #check(method: FakeSourceCall['method'], attributes: WorkloadAttributes): void {
    this.#note(method, attributes);
    this.#guard(attributes);
  }

  #guard(attributes: WorkloadAttributes): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (!this.#allow(attributes)) {
      throw new WorkloadIdentityError('ERR_WID_WORKLOAD_NO_IDENTITY', 'FakeWorkloadIdentitySource denies this caller');
    }
  }

  #contextFor(attributes: WorkloadAttributes): X509Context {
    this.#guard(attributes);
    const select = this.#selectSvids;
    if (select === undefined) return this.#x509; // shared object: the server encodes it once for all streams
    return { ...this.#x509, svids: this.#x509.svids.filter((svid) => select(svid, attributes)) };
  }

  #watch<T>(signal: AbortSignal, current: () => T): AsyncIterable<T> {
    const watchers = this.#watchers;
    const waiters = this.#watcherWaiters;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<T> => {
        // Not async functions: one pending promise per idle stream (load tests hold thousands).
        let latest: { value: T } | { error: unknown } | undefined;
        let done = false;
        let waiter: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | undefined;
        const finish = () => {
          done = true;
          watchers.delete(watcher);
          signal.removeEventListener('abort', finish);
          const w = waiter;
          waiter = undefined;
          w?.resolve({ done: true, value: undefined });
        };
        const deliver = () => {
          const w = waiter;
          const item = latest;
          if (w === undefined || item === undefined) return;
          waiter = undefined;
          latest = undefined;
          if ('error' in item) {
            finish();
            w.reject(item.error);
          } else w.resolve({ done: false, value: item.value });
        };
        const compute = () => {
          try {
            latest = { value: current() };
          } catch (error) {
            latest = { error };
          }
          deliver();
        };
        const watcher: Watcher = { refresh: compute };
        compute();
        if (signal.aborted) done = true;
        else {
          watchers.add(watcher);
          signal.addEventListener('abort', finish, { once: true });
          for (const w of [...waiters]) w();
        }
        return {
          next: (): Promise<IteratorResult<T>> => {
            if (done) return Promise.resolve({ done: true, value: undefined });
            return new Promise((resolve, reject) => {
              waiter = { resolve, reject };
              deliver();
            });
          },
          return: (): Promise<IteratorResult<T>> => {
            finish();
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  watchX509Context(attributes: WorkloadAttributes, signal: AbortSignal): AsyncIterable<X509Context> {
    this.#note('watchX509Context', attributes);
    return this.#watch(signal, () => this.#contextFor(attributes));
  }

  watchX509Bundles(signal: AbortSignal, attributes: WorkloadAttributes): AsyncIterable<X509BundleSet> {
    this.#note('watchX509Bundles', attributes);
    return this.#watch(signal, () => {
      this.#guard(attributes);
      return this.#x509Bundles;
    });
  }

  watchJwtBundles(signal: AbortSignal, attributes: WorkloadAttributes): AsyncIterable<JwtBundleSet> {
    this.#note('watchJwtBundles', attributes);
    return this.#watch(signal, () => {
      this.#guard(attributes);
      return this.#jwtBundles;
    });
  }

  async fetchJwtSvids(attributes: WorkloadAttributes, request: JwtSvidRequest): Promise<readonly WorkloadJwtSvid[]> {
    this.#check('fetchJwtSvids', attributes);
    const svids = this.#contextFor(attributes).svids.filter(
      (svid) => request.spiffeId === undefined || svid.spiffeId === request.spiffeId,
    );
    return svids.map((svid) => ({
      spiffeId: svid.spiffeId,
      token: this.#mintJwt(svid.spiffeId, request.audience),
      ...(svid.hint === undefined ? {} : { hint: svid.hint }),
    }));
  }

  async validateJwtSvid(token: string, audience: string, attributes: WorkloadAttributes): Promise<ValidatedJwtSvid> {
    this.#check('validateJwtSvid', attributes ?? {});
    return this.#validateJwt(token, audience);
  }
}
