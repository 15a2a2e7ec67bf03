import { X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import {
  type CertificateAuthority,
  type CertificateAuthorityEvent,
  type CertificateAuthorityOptions,
  type CertificateAuthorityState,
  createCertificateAuthority,
} from '@wid/svid-issuer';
import { ServerError } from './errors.js';
import {
  type Clock,
  MAX_TIMER_MS,
  type ServerLogger,
  SILENT_LOGGER,
  SYSTEM_CLOCK,
  SYSTEM_TIMERS,
  type Timers,
} from './logger.js';
import { checkStorageKey, type Storage } from './storage.js';

/** CA settings passed through to @wid/svid-issuer's `createCertificateAuthority` (lifetimes, key types, upstream, rotation). */
export type CaSettings = Omit<CertificateAuthorityOptions, 'trustDomain' | 'clock' | 'logger' | 'state'>;

/** Options of {@link openCertificateAuthority}. */
export interface OpenCertificateAuthorityOptions {
  /** Where the CA state lives (e.g. {@link createDirectoryStorage}). */
  readonly storage: Storage;
  readonly trustDomain: TrustDomain | string;
  /** Storage key of the CA state. Default `'ca.json'`. */
  readonly key?: string;
  /** CA settings (used when the CA is created; lifetimes and rotation apply on every start). */
  readonly ca?: CaSettings;
  /** Time source. Default: the system clock. */
  readonly clock?: Clock;
  /** Timer seam for the rotation schedule. Default: global timers, unref'd. */
  readonly timers?: Timers;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: ServerLogger;
}

/** A CA loaded from (or created in) storage, rotating on schedule and persisting every rotation. */
export interface ManagedCertificateAuthority {
  readonly ca: CertificateAuthority;
  /** True when no state was in storage and a new CA was created. */
  readonly created: boolean;
  /** Writes the current state to storage now (also done after every rotation and on close). */
  persist(): Promise<void>;
  /** Resolves once every write scheduled so far has finished (for tests and shutdown). */
  flushed(): Promise<void>;
  /** When the rotation timer fires next (undefined once closed). */
  nextRotationAt(): Date | undefined;
  /** Stops the rotation timer and writes the state a last time. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_KEY = 'ca.json';
/** Retry delay when a rotation step is due but could not happen (e.g. key generation failed). */
const MIN_RETRY_MS = 1000;

/**
 * Opens the trust domain's CA from `storage`: restores it when state is stored (so SVIDs issued before a restart
 * still verify), creates and stores a new one otherwise. A timer driven by the CA's `nextRotationAt()` runs
 * `rotateIfNeeded()` on schedule; the state is written after every rotation event (and on `close()`).
 *
 * Crash safety: the state on disk may lag behind the last issuance, so on restore the active authority's "last
 * signed" time is assumed to be its own expiry — after its retirement it stays in the bundle until then, never
 * shorter than the SVIDs it may have signed.
 *
 * @throws {ServerError} `ERR_WID_SERVER_CA_STATE` when the stored state is unreadable or of another trust domain;
 * `ERR_WID_SERVER_STORAGE_*` from the storage.
 * @example
 * const managed = await openCertificateAuthority({
 *   storage: createDirectoryStorage({ path: '/var/lib/wid' }),
 *   trustDomain: 'example.org',
 *   ca: { caTtlSeconds: 7 * 86400, x509SvidTtlSeconds: 3600 },
 * });
 * const issuance = createIssuanceService({ ca: managed.ca, identities });
 * // on shutdown:
 * await managed.close();
 */
export async function openCertificateAuthority(
  options: OpenCertificateAuthorityOptions,
): Promise<ManagedCertificateAuthority> {
  const bad = (key: string, message: string) =>
    new ServerError('ERR_WID_SERVER_INVALID_OPTION', `option "${key}": ${message}`, { key });
  if (typeof options !== 'object' || options === null) throw bad('options', 'must be an object');
  const { storage } = options;
  if (typeof storage?.get !== 'function' || typeof storage.put !== 'function') {
    throw bad('storage', 'must be a Storage (get/put/delete)');
  }
  let trustDomain: TrustDomain;
  try {
    trustDomain =
      typeof options.trustDomain === 'string' ? TrustDomain.parse(options.trustDomain) : options.trustDomain;
    if (!(trustDomain instanceof TrustDomain)) throw new TypeError('not a TrustDomain');
  } catch (cause) {
    throw new ServerError('ERR_WID_SERVER_INVALID_OPTION', `option "trustDomain": ${(cause as Error).message}`, {
      key: 'trustDomain',
      cause,
    });
  }
  const key = checkStorageKey(options.key ?? DEFAULT_KEY);
  const clock = options.clock ?? SYSTEM_CLOCK;
  if (typeof clock?.now !== 'function') throw bad('clock', 'must have a now(): Date method');
  const timers = options.timers ?? SYSTEM_TIMERS;
  if (typeof timers?.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function') {
    throw bad('timers', 'must have setTimeout and clearTimeout');
  }
  const log = options.logger ?? SILENT_LOGGER;

  const stored = await storage.get(key);
  let state: CertificateAuthorityState | undefined;
  if (stored !== undefined) {
    try {
      state = conservative(
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(stored)) as CertificateAuthorityState,
      );
    } catch (cause) {
      throw new ServerError(
        'ERR_WID_SERVER_CA_STATE',
        `the CA state "${key}" is not valid JSON: ${(cause as Error).message}`,
        {
          key,
          trustDomain: trustDomain.name,
          cause,
        },
      );
    }
    if (state.trustDomain !== trustDomain.name) {
      throw new ServerError(
        'ERR_WID_SERVER_CA_STATE',
        `the CA state "${key}" belongs to trust domain "${String(state.trustDomain)}", not "${trustDomain.name}"`,
        { key, trustDomain: trustDomain.name },
      );
    }
  }
  let ca: CertificateAuthority;
  try {
    ca = createCertificateAuthority({
      ...options.ca,
      trustDomain,
      clock,
      logger: log,
      ...(state === undefined ? {} : { state }),
    });
  } catch (cause) {
    if (state === undefined) throw cause;
    throw new ServerError(
      'ERR_WID_SERVER_CA_STATE',
      `cannot restore the CA from "${key}": ${(cause as Error).message}`,
      {
        key,
        trustDomain: trustDomain.name,
        cause,
      },
    );
  }
  log.info(
    { trustDomain: trustDomain.name, sequence: String(ca.sequence), created: state === undefined },
    state === undefined ? 'created a new certificate authority' : 'restored the certificate authority from storage',
  );

  let closed = false;
  let timer: unknown;
  let timerAt: Date | undefined;
  let writes: Promise<void> = Promise.resolve();

  const persist = (): Promise<void> => {
    const bytes = new TextEncoder().encode(`${JSON.stringify(ca.exportState(), null, 2)}\n`);
    const write = writes.then(() => storage.put(key, bytes));
    writes = write.catch((err: unknown) => {
      log.error({ err, key }, 'cannot persist the certificate authority state');
    });
    return write;
  };

  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) timers.clearTimeout(timer);
    const now = clock.now().getTime();
    const due = ca.nextRotationAt().getTime();
    let delay = due - now;
    if (!Number.isFinite(delay)) delay = MAX_TIMER_MS;
    if (delay <= 0) delay = MIN_RETRY_MS;
    delay = Math.min(delay, MAX_TIMER_MS);
    timerAt = new Date(now + delay);
    timer = timers.setTimeout(tick, delay);
  };

  function tick(): void {
    timer = undefined;
    if (closed) return;
    try {
      ca.rotateIfNeeded(); // events reach onChange below, which persists
    } catch (err) {
      log.error({ err }, 'CA rotation failed');
    }
    schedule();
  }

  let pending = false;
  const unsubscribe = ca.onChange((event: CertificateAuthorityEvent) => {
    log.info({ event: event.type, id: event.id, sequence: String(event.sequence) }, 'certificate authority rotated');
    // One write per burst of events (a rotation step can emit several).
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      persist().catch(() => {});
      schedule();
    });
  });

  // First start: store the new CA before it signs anything. Restart: store what restore may have rotated.
  await persist();
  schedule();

  const close = async (): Promise<void> => {
    if (closed) return writes;
    closed = true;
    unsubscribe();
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    timerAt = undefined;
    await persist().catch(() => {});
  };

  return {
    ca,
    created: state === undefined,
    persist,
    flushed: () => writes,
    nextRotationAt: () => timerAt,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The active authorities' `lastSignedNotAfter` may be stale in storage (issuance does not write state), so assume
 * they signed up to their own expiry: a retired authority then stays in the bundle long enough.
 */
function conservative(state: CertificateAuthorityState): CertificateAuthorityState {
  if (
    typeof state !== 'object' ||
    state === null ||
    !Array.isArray(state.x509Authorities) ||
    !Array.isArray(state.jwtKeys)
  ) {
    throw new TypeError('missing x509Authorities or jwtKeys');
  }
  return {
    ...state,
    x509Authorities: state.x509Authorities.map((a) => {
      if (a.status !== 'active') return a;
      let notAfter: string;
      try {
        notAfter = new Date(new X509Certificate(a.certificatePem).validTo).toISOString();
      } catch {
        return a; // the CA's own restore reports the bad certificate
      }
      return { ...a, lastSignedNotAfter: later(a.lastSignedNotAfter, notAfter) };
    }),
    jwtKeys: state.jwtKeys.map((k) =>
      k.status === 'active' ? { ...k, lastSignedNotAfter: later(k.lastSignedNotAfter, k.notAfter) } : k,
    ),
  };
}

function later(a: string, b: string): string {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (!Number.isFinite(ta)) return b;
  if (!Number.isFinite(tb)) return a;
  return ta >= tb ? a : b;
}
