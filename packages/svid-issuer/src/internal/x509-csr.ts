// PKCS#10 (RFC 2986) certificate signing requests: decode, and verify the self-signature (proof that the requester
// holds the private key). Only the public key is used for issuance; the CSR's subject and extensions are ignored,
// because the SPIFFE ID and names come from the issuance decision, never from the requester.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { SvidIssuerError } from '../errors.js';
import { Asn1Error, children, decodeBitString, decodeOid, decodeSmallUint, raw, readWhole } from './x509-asn1.js';
import { SIGNATURE_HASH } from './x509-oids.js';
import { decodePemOfType, looksLikePem } from './x509-pem.js';

/** Decodes a PEM or DER CSR and verifies its signature; returns the requested public key's SPKI DER. */
export function publicKeyFromCsr(csr: unknown): Buffer {
  let der: Uint8Array;
  if (typeof csr === 'string' || (csr instanceof Uint8Array && looksLikePem(csr))) {
    const text = typeof csr === 'string' ? csr : Buffer.from(csr).toString('latin1');
    const blocks = decodePemOfType(text, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'CSR');
    if (blocks.length !== 1) {
      throw new SvidIssuerError('ERR_WID_X509_BAD_CSR', `expected exactly one CSR PEM block, found ${blocks.length}`);
    }
    der = blocks[0]!;
  } else if (csr instanceof Uint8Array) {
    der = csr;
  } else {
    throw new SvidIssuerError('ERR_WID_X509_BAD_CSR', 'csr must be PEM text or DER bytes');
  }

  let cri: Uint8Array;
  let spki: Uint8Array;
  let sigOid: string;
  let signature: Uint8Array;
  try {
    const top = readWhole(der, 0x30, 'CertificationRequest');
    const [criT, algT, sigT, ...extra] = children(der, top);
    if (criT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03 || extra.length > 0) {
      throw new Asn1Error('not a CertificationRequest');
    }
    const [versionT, subjectT, spkiT, attrsT, ...more] = children(der, criT);
    if (versionT === undefined || decodeSmallUint(der, versionT) !== 0) throw new Asn1Error('CSR version must be 0');
    if (subjectT?.tag !== 0x30 || spkiT?.tag !== 0x30 || (attrsT !== undefined && attrsT.tag !== 0xa0) || more.length) {
      throw new Asn1Error('malformed CertificationRequestInfo');
    }
    const [algOidT] = children(der, algT);
    if (algOidT === undefined) throw new Asn1Error('empty signature algorithm');
    cri = raw(der, criT);
    spki = raw(der, spkiT);
    sigOid = decodeOid(der, algOidT);
    const bits = decodeBitString(der, sigT);
    if (bits.unused !== 0) throw new Asn1Error('signature has unused bits');
    signature = bits.bytes;
  } catch (cause) {
    if (!(cause instanceof Asn1Error)) throw cause;
    throw new SvidIssuerError('ERR_WID_X509_BAD_CSR', `cannot parse CSR: ${cause.message}`, { cause });
  }

  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_CSR', 'cannot parse CSR: bad subjectPublicKeyInfo', { cause });
  }
  const hash = SIGNATURE_HASH[sigOid];
  if (hash === undefined) {
    throw new SvidIssuerError(
      'ERR_WID_X509_CSR_SIGNATURE',
      `CSR signature algorithm ${sigOid} is not supported (use ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512)`,
      { input: sigOid },
    );
  }
  const ecAlg = sigOid.startsWith('1.2.840.10045.');
  let ok = false;
  if (ecAlg === (key.asymmetricKeyType === 'ec')) {
    try {
      ok = verify(hash, cri, key, signature);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new SvidIssuerError('ERR_WID_X509_CSR_SIGNATURE', 'CSR signature does not verify with the key it carries', {
      input: sigOid,
    });
  }
  return Buffer.from(spki);
}
