// Caller-supplied KeyObjects are never inspected directly. On Node 20, a KeyObject that came straight out of
// generateKeyPairSync/generateKeyPair shares a mutex with its key-generation job; `asymmetricKeyDetails` and
// `export({ format: 'jwk' })` hold that mutex while allocating V8 strings, and a GC that finalizes the job
// (`~KeyGenJob`) takes the same mutex: the process deadlocks for good (reproduced with gdb). The DER exports copy
// the key into an OpenSSL BIO without that hazard, and a KeyObject re-created from DER has no generation job, so
// every caller key is turned into such a copy first and only the copy is inspected (and used).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** A caller's asymmetric key as a DER-re-imported copy, with the facts the issuer checks, read once from the copy. */
export interface KeyFacts {
  /** The copy: same key material, safe to inspect and export in any format. */
  readonly key: KeyObject;
  readonly type: 'public' | 'private' | 'secret';
  /** `asymmetricKeyType` of the copy (`ec`, `rsa`, `rsa-pss`, `ed25519`, ...). */
  readonly asymmetricKeyType: string | undefined;
  /** OpenSSL curve name of an EC key (`prime256v1`, `secp384r1`, `secp521r1`, ...). */
  readonly namedCurve: string | undefined;
  /** Modulus length in bits of an RSA key. */
  readonly modulusLength: number | undefined;
}

// Per caller object: the copy lives as long as the caller's key, so repeated use (minting with one key) is a lookup.
const facts = new WeakMap<KeyObject, KeyFacts>();

/**
 * The facts of `key` (a KeyObject), read from a copy re-imported from its SPKI/PKCS#8 DER. Copies are cached per
 * object, and a copy maps to itself. Secret keys are not asymmetric: their facts say only `type: 'secret'`.
 */
export function keyFacts(key: KeyObject): KeyFacts {
  let f = facts.get(key);
  if (f === undefined) {
    if (key.type === 'secret') return inspect(key);
    const copy =
      key.type === 'private'
        ? createPrivateKey({ key: key.export({ type: 'pkcs8', format: 'der' }), format: 'der', type: 'pkcs8' })
        : createPublicKey({ key: key.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });
    f = inspect(copy);
    facts.set(key, f);
    facts.set(copy, f);
  }
  return f;
}

/**
 * Registers a key wid created itself from bytes (DER, PEM, JWK): it has no generation job, so it is inspected
 * directly and serves as its own copy.
 */
export function ownKeyFacts(key: KeyObject): KeyFacts {
  let f = facts.get(key);
  if (f === undefined) {
    f = inspect(key);
    facts.set(key, f);
  }
  return f;
}

/** A DER-re-imported copy of a caller's key (see {@link keyFacts}). */
export function detachedKey(key: KeyObject): KeyObject {
  return keyFacts(key).key;
}

function inspect(key: KeyObject): KeyFacts {
  const details = key.type === 'secret' ? undefined : key.asymmetricKeyDetails;
  return Object.freeze({
    key,
    type: key.type,
    asymmetricKeyType: key.asymmetricKeyType,
    namedCurve: details?.namedCurve,
    modulusLength: details?.modulusLength,
  });
}
