import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Dispatcher } from 'undici';
import { KubernetesJoinError } from '../errors.js';
import { fetchJson } from './http.js';
import type { KeyResolver } from './signature.js';

export interface OidcKeySourceOptions {
  readonly issuer: string;
  readonly allowInsecureHttp: boolean;
  readonly dispatcher: Dispatcher | undefined;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly cacheSeconds: number;
  readonly minRefreshSeconds: number;
  readonly clock: { now(): Date };
}

/** Builds a jose key resolver from a JWKS document; throws `code` when it is not one. */
export function keySetFrom(doc: unknown, url: string | undefined): KeyResolver {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new KubernetesJoinError(
      url === undefined ? 'ERR_WID_JOIN_KUBERNETES_BAD_OPTION' : 'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
      'the JWKS has no "keys" array',
      url === undefined ? { key: 'jwks' } : { url },
    );
  }
  return createLocalJWKSet(doc as JSONWebKeySet) as KeyResolver;
}

/**
 * Keys of an OIDC issuer: discovery (`/.well-known/openid-configuration`) then `jwks_uri`, cached for
 * `cacheSeconds`, refreshed early (at most every `minRefreshSeconds`) when a token names an unknown `kid`, so key
 * rotation at the issuer is picked up without trusting removed keys for long.
 */
export class OidcKeySource {
  readonly #o: OidcKeySourceOptions;
  #keys: KeyResolver | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<KeyResolver> | undefined;

  constructor(options: OidcKeySourceOptions) {
    this.#o = options;
  }

  /** Current keys, fetched when absent or older than `cacheSeconds`. */
  async current(signal: AbortSignal | undefined): Promise<KeyResolver> {
    const age = this.#o.clock.now().getTime() - this.#fetchedAt;
    if (this.#keys !== undefined && age < this.#o.cacheSeconds * 1000) return this.#keys;
    return this.refresh(signal);
  }

  /** True when an early refresh is allowed now (rate limit for unknown-kid refreshes). */
  mayRefresh(): boolean {
    return this.#o.clock.now().getTime() - this.#fetchedAt >= this.#o.minRefreshSeconds * 1000;
  }

  refresh(signal: AbortSignal | undefined): Promise<KeyResolver> {
    // One fetch at a time: concurrent joins share it.
    this.#pending ??= this.#fetch(signal).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetch(signal: AbortSignal | undefined): Promise<KeyResolver> {
    const o = this.#o;
    const discoveryUrl = `${o.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const common = {
      dispatcher: o.dispatcher,
      timeoutMs: o.timeoutMs,
      maxBytes: o.maxResponseBytes,
      signal,
      okStatuses: [200],
    };
    const doc = await fetchJson({
      ...common,
      url: discoveryUrl,
      code: 'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
    });
    const discovery = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be identical to the one configured.
    if (discovery['issuer'] !== o.issuer) {
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
        `the discovery document names issuer ${JSON.stringify(discovery['issuer'])}, not ${o.issuer}`,
        {
          url: discoveryUrl,
          expected: o.issuer,
          actual: typeof discovery['issuer'] === 'string' ? discovery['issuer'] : undefined,
        },
      );
    }
    const jwksUri = discovery['jwks_uri'];
    let parsed: URL | undefined;
    try {
      parsed = typeof jwksUri === 'string' ? new URL(jwksUri) : undefined;
    } catch {
      parsed = undefined;
    }
    if (
      parsed === undefined ||
      !(parsed.protocol === 'https:' || (o.allowInsecureHttp && parsed.protocol === 'http:'))
    ) {
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
        `jwks_uri ${JSON.stringify(jwksUri)} is not an https URL${o.allowInsecureHttp ? ' or http URL' : ''}`,
        { url: discoveryUrl },
      );
    }
    const jwks = await fetchJson({ ...common, url: parsed.href, code: 'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED' });
    let keys: KeyResolver;
    try {
      keys = keySetFrom(jwks, parsed.href);
    } catch (cause) {
      if (cause instanceof KubernetesJoinError) throw cause;
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
        'the JWKS is not valid',
        { url: parsed.href },
        { cause },
      );
    }
    this.#keys = keys;
    this.#fetchedAt = o.clock.now().getTime();
    return keys;
  }
}
