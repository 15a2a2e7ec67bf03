import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

/** What a fake projected service-account token says; every field has a realistic default. */
export interface FakeTokenOptions {
  /** Default `wid-system`. */
  readonly namespace?: string;
  /** Default `wid-agent`. */
  readonly serviceAccount?: string;
  /** The bound pod; `null` for a token bound to no pod. Default `{ name: 'wid-agent-7f9c4', uid: <uuid> }`. */
  readonly pod?: { readonly name: string; readonly uid?: string } | null;
  /** `aud`; `null` omits it. Default `['example.org']`. */
  readonly audience?: string | readonly string[] | null;
  /** `iat` (and `nbf`). Default: the issuer's clock. */
  readonly issuedAt?: Date;
  /** `exp - iat`, in seconds. Default 600 (what the wid DaemonSet projects). */
  readonly lifetimeSeconds?: number;
  /** Registered claims to leave out, e.g. `['exp']` for a legacy-looking token. */
  readonly omit?: readonly ('exp' | 'iat' | 'nbf' | 'sub' | 'kubernetes.io')[];
  /** Claims merged over the generated ones. */
  readonly claims?: Record<string, unknown>;
  /** Header `kid` to use instead of the current key's. */
  readonly kid?: string;
}

/** A fake Kubernetes service-account token issuer: signing keys, a JWKS, and realistic projected tokens. */
export interface FakeServiceAccountIssuer {
  /** The `iss` of its tokens. */
  readonly issuer: string;
  /** `kid` of the key that signs now. */
  readonly currentKid: string;
  /** The public JWK Set, as the API server's /openid/v1/jwks publishes it. */
  jwks(): JSONWebKeySet;
  /** Signs a token with the current key. */
  sign(options?: FakeTokenOptions): Promise<string>;
  /** Adds a new signing key; the old one stays published unless `dropOld`. */
  rotate(options?: { readonly dropOld?: boolean }): Promise<void>;
  /** Verifies a token of this issuer (signature and `exp`), as the API server's authenticator does. */
  verify(token: string): Promise<JWTPayload>;
}

/** Options of {@link createFakeServiceAccountIssuer}. */
export interface FakeServiceAccountIssuerOptions {
  /** Default `https://kubernetes.default.svc.cluster.local`. */
  readonly issuer?: string;
  /** Default `ES256` (fast in tests); real clusters mostly use `RS256`. */
  readonly alg?: 'ES256' | 'RS256';
  readonly clock?: { now(): Date };
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

/**
 * Creates a fake service-account token issuer.
 *
 * @example
 * const sa = await createFakeServiceAccountIssuer();
 * const token = await sa.sign({ audience: 'example.org' });
 */
export async function createFakeServiceAccountIssuer(
  options: FakeServiceAccountIssuerOptions = {},
): Promise<FakeServiceAccountIssuer> {
  const issuer = options.issuer ?? 'https://kubernetes.default.svc.cluster.local';
  const alg = options.alg ?? 'ES256';
  const clock = options.clock ?? { now: () => new Date() };
  const keys: SigningKey[] = [];

  async function addKey(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    keys.push({ kid, privateKey: privateKey as CryptoKey, jwk });
  }
  await addKey();

  const current = () => keys[keys.length - 1]!;
  return {
    issuer,
    get currentKid() {
      return current().kid;
    },
    jwks: () => ({ keys: keys.map((k) => ({ ...k.jwk })) }),
    async rotate(opts = {}) {
      await addKey();
      if (opts.dropOld === true) keys.splice(0, keys.length - 1);
    },
    async sign(o = {}) {
      const key = current();
      const iat = Math.floor((o.issuedAt ?? clock.now()).getTime() / 1000);
      const namespace = o.namespace ?? 'wid-system';
      const name = o.serviceAccount ?? 'wid-agent';
      const pod = o.pod === undefined ? { name: 'wid-agent-7f9c4', uid: randomUUID() } : o.pod;
      const payload: Record<string, unknown> = {
        aud: o.audience === undefined ? ['example.org'] : o.audience,
        exp: iat + (o.lifetimeSeconds ?? 600),
        iat,
        nbf: iat,
        iss: issuer,
        jti: randomUUID(),
        'kubernetes.io': {
          namespace,
          node: { name: 'node-1', uid: '2c6e0b4e-5d3a-4f27-9b51-0a6c1b0e9d11' },
          ...(pod === null ? {} : { pod: { name: pod.name, uid: pod.uid ?? randomUUID() } }),
          serviceaccount: { name, uid: '9d1f3c52-8e7b-4a60-b2d4-6f0c3e5a7b81' },
        },
        sub: `system:serviceaccount:${namespace}:${name}`,
        ...o.claims,
      };
      if (o.audience === null) delete payload['aud'];
      for (const claim of o.omit ?? []) delete payload[claim];
      return new SignJWT(payload).setProtectedHeader({ alg, kid: o.kid ?? key.kid }).sign(key.privateKey);
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: keys.map((k) => k.jwk) }), {
        currentDate: clock.now(),
      });
      return payload;
    },
  };
}
