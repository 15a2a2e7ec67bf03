import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { SpiffeId, TrustDomain } from '@wid/spiffe-id';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type JwtBundle,
  JwtBundleSet,
  JwtSvid,
  type X509Bundle,
} from '@wid/svid-issuer';
import type {
  JwtSvidRequest,
  ValidatedJwtSvid,
  JwtBundleSet as WireJwtBundleSet,
  X509BundleSet as WireX509BundleSet,
  X509Context as WireX509Context,
  WorkloadAttributes,
  WorkloadIdentitySource,
  WorkloadJwtSvid,
  WorkloadX509Svid,
} from '@wid/workload-api-server';
import { WorkloadIdentityError } from '@wid/workload-api-server';

/** One identity the source grants, to callers whose attributes `match`. */
export interface CaIdentity {
  readonly spiffeId: string;
  readonly hint?: string;
  readonly match: (attributes: WorkloadAttributes) => boolean;
}

/** Matches callers whose attested unix uid is `uid`. */
export function uidIs(uid: number): (attributes: WorkloadAttributes) => boolean {
  return (attributes) => {
    const unix = (attributes['workload'] as { unix?: { uid?: unknown; attested?: unknown } } | undefined)?.unix;
    return unix?.attested === true && unix.uid === uid;
  };
}

export interface CaIdentitySourceOptions {
  readonly trustDomain: string;
  readonly identities: readonly CaIdentity[];
  /** Federated trust domains: their own CAs, whose bundles are streamed as federated bundles. */
  readonly federated?: readonly CertificateAuthority[];
  readonly x509TtlSeconds?: number;
  readonly jwtTtlSeconds?: number;
}

/**
 * A real {@link WorkloadIdentitySource} for end-to-end tests, backed by a real CA from @wid/svid-issuer: every
 * caller gets freshly minted X.509-SVIDs (a new key pair each) for the identities whose `match` accepts its
 * attributes; `rotate()` re-mints them for every open FetchX509SVID stream; JWT-SVIDs are signed by the CA and
 * validated with `JwtSvid.parseAndValidate` against the local and federated JWT bundles.
 */
export interface CaIdentitySource extends WorkloadIdentitySource {
  readonly ca: CertificateAuthority;
  readonly trustDomain: TrustDomain;
  /** The local trust domain's X.509 bundle (as a verifier outside the Workload API would get it). */
  x509Bundle(): X509Bundle;
  /** Re-mints every open watcher's SVIDs and pushes them (a rotation). */
  rotate(): void;
  /** FetchX509SVID streams ever opened / open now; attributes of every call. */
  readonly stats: { x509Watches: number; openX509Watches: number; attributes: WorkloadAttributes[] };
  /** Resolves once `n` FetchX509SVID streams are open. */
  waitForOpenX509Watches(n: number): Promise<void>;
}

function der(cert: X509Certificate): Uint8Array {
  return new Uint8Array(cert.raw);
}

function pkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}

/** Waits for a change signal or an abort; resolves false on abort. */
function nextChange(subscribe: (wake: () => void) => () => void, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      unsubscribe();
      resolve(false);
    };
    const unsubscribe = subscribe(() => {
      signal.removeEventListener('abort', onAbort);
      unsubscribe();
      resolve(true);
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createCaIdentitySource(options: CaIdentitySourceOptions): CaIdentitySource {
  const trustDomain = TrustDomain.parse(options.trustDomain);
  const ca = createCertificateAuthority({ trustDomain });
  const federated = options.federated ?? [];
  const x509Ttl = options.x509TtlSeconds ?? 3600;
  const jwtTtl = options.jwtTtlSeconds ?? 300;
  const listeners = new Set<() => void>();
  const openWaiters = new Set<() => void>();
  const stats = { x509Watches: 0, openX509Watches: 0, attributes: [] as WorkloadAttributes[] };

  const subscribe = (wake: () => void) => {
    listeners.add(wake);
    return () => listeners.delete(wake);
  };
  const granted = (attributes: WorkloadAttributes): CaIdentity[] => {
    stats.attributes.push(attributes);
    const ids = options.identities.filter((i) => i.match(attributes));
    if (ids.length === 0) {
      throw new WorkloadIdentityError('ERR_WID_WORKLOAD_NO_IDENTITY', 'no identity is granted to this caller');
    }
    return ids;
  };
  const localX509 = () => ca.x509Bundle().x509Authorities();
  const federatedX509 = () =>
    new Map(
      federated.map((f) => [f.x509Bundle().trustDomain.idString(), f.x509Bundle().x509Authorities().map(der)] as const),
    );
  const jwtBundles = () => JwtBundleSet.of(ca.jwtBundle(), ...federated.map((f) => f.jwtBundle()));

  const mint = (identity: CaIdentity): WorkloadX509Svid => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = ca.issueX509Svid({ spiffeId: identity.spiffeId, publicKey, ttlSeconds: x509Ttl });
    return {
      spiffeId: identity.spiffeId,
      certChain: issued.certificatesDer,
      privateKey: pkcs8(privateKey),
      bundle: localX509().map(der),
      ...(identity.hint === undefined ? {} : { hint: identity.hint }),
    };
  };
  const context = (ids: readonly CaIdentity[]): WireX509Context => ({
    svids: ids.map(mint),
    federatedBundles: federatedX509(),
  });

  return {
    ca,
    trustDomain,
    stats,
    x509Bundle: () => ca.x509Bundle(),
    rotate() {
      for (const wake of [...listeners]) wake();
    },
    async waitForOpenX509Watches(n) {
      while (stats.openX509Watches < n) await new Promise<void>((r) => openWaiters.add(r));
    },

    watchX509Context(attributes, signal) {
      const ids = granted(attributes);
      return (async function* () {
        stats.x509Watches++;
        stats.openX509Watches++;
        for (const w of [...openWaiters]) {
          openWaiters.delete(w);
          w();
        }
        try {
          do {
            yield context(ids);
          } while (await nextChange(subscribe, signal));
        } finally {
          stats.openX509Watches--;
        }
      })();
    },

    async fetchJwtSvids(attributes, request: JwtSvidRequest): Promise<WorkloadJwtSvid[]> {
      let ids = granted(attributes);
      if (request.spiffeId !== undefined) {
        ids = ids.filter((i) => i.spiffeId === request.spiffeId);
        if (ids.length === 0) {
          throw new WorkloadIdentityError(
            'ERR_WID_WORKLOAD_NO_IDENTITY',
            `${request.spiffeId} is not granted to this caller`,
          );
        }
      }
      return ids.map((i) => ({
        spiffeId: i.spiffeId,
        token: ca.issueJwtSvid({
          spiffeId: SpiffeId.parse(i.spiffeId),
          audience: [...request.audience],
          ttlSeconds: jwtTtl,
        }).token,
        ...(i.hint === undefined ? {} : { hint: i.hint }),
      }));
    },

    watchX509Bundles(signal): AsyncIterable<WireX509BundleSet> {
      return (async function* () {
        do {
          const bundles = federatedX509();
          bundles.set(trustDomain.idString(), localX509().map(der));
          yield { bundles };
        } while (await nextChange(subscribe, signal));
      })();
    },

    watchJwtBundles(signal): AsyncIterable<WireJwtBundleSet> {
      return (async function* () {
        do {
          const set = jwtBundles();
          yield {
            bundles: new Map(
              set.bundles().map((b: JwtBundle) => [b.trustDomain.idString(), new TextEncoder().encode(b.marshal())]),
            ),
          };
        } while (await nextChange(subscribe, signal));
      })();
    },

    async validateJwtSvid(token, audience): Promise<ValidatedJwtSvid> {
      try {
        const svid = JwtSvid.parseAndValidate(token, jwtBundles(), [audience]);
        return { spiffeId: svid.id.toString(), claims: svid.claims };
      } catch (cause) {
        throw new WorkloadIdentityError('ERR_WID_WORKLOAD_INVALID_TOKEN', (cause as Error).message, { cause });
      }
    },
  };
}
