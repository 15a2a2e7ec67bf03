import type { X509BundleSet, X509Svid } from '@wid/svid-issuer';

/**
 * What FetchX509SVID delivers, shaped like go-spiffe's `workloadapi.X509Context`: the caller's X.509-SVIDs (the
 * first is the default identity, Workload API §5) and the bundles to verify peers with — the SVIDs' own trust
 * domain bundle plus every federated bundle. Frozen.
 *
 * @example
 * const ctx = await client.fetchX509Context();
 * const svid = ctx.defaultSvid();
 * verifyX509Svid(peerChain, ctx.bundles);
 */
export interface X509Context {
  /** Every SVID of the caller, in the server's order; never empty. */
  readonly svids: readonly X509Svid[];
  /** The SVIDs' trust domain bundle(s) and the federated bundles, keyed by trust domain. */
  readonly bundles: X509BundleSet;
  /** The default identity: `svids[0]`. */
  defaultSvid(): X509Svid;
}

/** Builds a frozen {@link X509Context}; `svids` must be non-empty (the response parser guarantees it). */
export function createX509Context(svids: readonly X509Svid[], bundles: X509BundleSet): X509Context {
  const list = Object.freeze([...svids]);
  const first = list[0];
  if (first === undefined) throw new TypeError('an X509Context needs at least one SVID');
  return Object.freeze({ svids: list, bundles, defaultSvid: () => first });
}
