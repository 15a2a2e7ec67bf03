import type {
  JWTBundlesResponse,
  JWTSVID,
  SpiffeWorkloadApiServiceDefinition,
  X509BundlesResponse,
  X509SVID,
  X509SVIDResponse,
} from '@wid/workload-api-proto';
import type {
  JwtBundleSet,
  WorkloadJwtSvid,
  WorkloadX509Svid,
  X509BundleSet,
  X509Context,
} from '../identity-source.js';

/** A response serialized once and shared by every stream that sends the same state. */
export interface Encoded {
  readonly bytes: Buffer;
  /** SPIFFE IDs left out because an earlier SVID of the same response had the same hint. */
  readonly droppedForHint: readonly string[];
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts as Uint8Array[]);
}

/** Keeps the first SVID of each hint: hints are unique within one response (Workload API §5), as SPIRE does. */
export function uniqueHints<T extends { readonly hint?: string | undefined; readonly spiffeId: string }>(
  svids: readonly T[],
): { kept: T[]; dropped: string[] } {
  const seen = new Set<string>();
  const kept: T[] = [];
  const dropped: string[] = [];
  for (const svid of svids) {
    const hint = svid.hint ?? '';
    if (hint !== '') {
      if (seen.has(hint)) {
        dropped.push(svid.spiffeId);
        continue;
      }
      seen.add(hint);
    }
    kept.push(svid);
  }
  return { kept, dropped };
}

function bundleMap(map: ReadonlyMap<string, readonly Uint8Array[]>): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [td, certs] of map) out[td] = concat(certs);
  return out;
}

/**
 * Serializes responses, caching by the identity of the state object: a source that hands the same X509Context to a
 * thousand streams gets it encoded once (the service's serializer passes these bytes through).
 */
export class ResponseEncoder {
  readonly #service: SpiffeWorkloadApiServiceDefinition;
  readonly #x509 = new WeakMap<X509Context, Encoded>();
  readonly #x509Bundles = new WeakMap<X509BundleSet, Encoded>();
  readonly #jwtBundles = new WeakMap<JwtBundleSet, Encoded>();

  constructor(service: SpiffeWorkloadApiServiceDefinition) {
    this.#service = service;
  }

  x509Svid(ctx: X509Context): Encoded {
    let encoded = this.#x509.get(ctx);
    if (encoded === undefined) {
      const { kept, dropped } = uniqueHints(ctx.svids);
      const message: X509SVIDResponse = {
        svids: kept.map(
          (s: WorkloadX509Svid): X509SVID => ({
            spiffe_id: s.spiffeId,
            x509_svid: concat(s.certChain),
            x509_svid_key: s.privateKey,
            bundle: concat(s.bundle),
            hint: s.hint ?? '',
          }),
        ),
        crl: [...(ctx.crl ?? [])],
        federated_bundles: bundleMap(ctx.federatedBundles),
      };
      encoded = { bytes: this.#service.FetchX509SVID.responseSerialize(message), droppedForHint: dropped };
      this.#x509.set(ctx, encoded);
    }
    return encoded;
  }

  x509Bundles(set: X509BundleSet): Encoded {
    let encoded = this.#x509Bundles.get(set);
    if (encoded === undefined) {
      const message: X509BundlesResponse = { crl: [...(set.crl ?? [])], bundles: bundleMap(set.bundles) };
      encoded = { bytes: this.#service.FetchX509Bundles.responseSerialize(message), droppedForHint: [] };
      this.#x509Bundles.set(set, encoded);
    }
    return encoded;
  }

  jwtBundles(set: JwtBundleSet): Encoded {
    let encoded = this.#jwtBundles.get(set);
    if (encoded === undefined) {
      const message: JWTBundlesResponse = { bundles: Object.fromEntries(set.bundles) };
      encoded = { bytes: this.#service.FetchJWTBundles.responseSerialize(message), droppedForHint: [] };
      this.#jwtBundles.set(set, encoded);
    }
    return encoded;
  }

  static jwtSvids(svids: readonly WorkloadJwtSvid[]): { svids: JWTSVID[]; dropped: string[] } {
    const { kept, dropped } = uniqueHints(svids);
    return { svids: kept.map((s) => ({ spiffe_id: s.spiffeId, svid: s.token, hint: s.hint ?? '' })), dropped };
  }
}
