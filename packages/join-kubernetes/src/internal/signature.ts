import {
  type CryptoKey,
  compactVerify,
  decodeProtectedHeader,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type KeyObject,
} from 'jose';
import { KubernetesJoinError } from '../errors.js';

/** Algorithms a service-account token may use. Never `none`, never HMAC. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** Largest token accepted, in bytes. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export type KeyResolver = (
  header: JWSHeaderParameters,
  input: FlattenedJWSInput,
) => Promise<CryptoKey | KeyObject | Uint8Array>;

/** Shape checks before any key is looked at; returns the header. */
export function preflight(token: unknown): JWSHeaderParameters {
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > MAX_TOKEN_BYTES ||
    token.split('.').length !== 3
  ) {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN',
      'the token is not a compact JWS of at most 16 KiB',
    );
  }
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(token) as JWSHeaderParameters;
  } catch (cause) {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN',
      'the token header is not valid',
      {},
      { cause },
    );
  }
  if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_UNSUPPORTED_ALG',
      `token algorithm ${JSON.stringify(header.alg)} is not accepted`,
      {
        actual: typeof header.alg === 'string' ? header.alg : undefined,
      },
    );
  }
  return header;
}

/** Verifies the signature with `keys`; returns the payload bytes. */
export async function verifySignature(
  token: string,
  header: JWSHeaderParameters,
  keys: KeyResolver,
): Promise<Uint8Array> {
  try {
    const { payload } = await compactVerify(token, keys, { algorithms: ALGORITHMS });
    return payload;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID',
        `no trusted key matches kid ${JSON.stringify(header.kid)} (alg ${header.alg})`,
        { kid: header.kid },
        { cause },
      );
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_BAD_SIGNATURE',
        'the token signature does not verify',
        { kid: header.kid },
        { cause },
      );
    }
    if (cause instanceof KubernetesJoinError) throw cause;
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN',
      'the token could not be verified as a JWS',
      { kid: header.kid },
      { cause },
    );
  }
}

/** Parses the verified payload bytes as JSON. */
export function parsePayload(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN',
      'the token payload is not JSON',
      {},
      { cause },
    );
  }
}
