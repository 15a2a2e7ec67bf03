// The hand-written certificate templates: the X.509-SVID leaf (the issuance hot path) and CA certificates. Each
// TBSCertificate is assembled from precomputed DER pieces plus the few per-certificate values, then signed with
// node:crypto. Tests cross-check the output with OpenSSL and @peculiar/x509.
import { type KeyObject, randomFillSync, sign } from 'node:crypto';
import type { KeyType } from '../key-type.js';
import { KU } from './x509-cert-info.js';
import { derTime, extension, oid, seq, TAG, tlv, uintFromBytes } from './x509-der.js';
import { keyIdentifier, signatureAlgorithm } from './x509-keys.js';
import { OID } from './x509-oids.js';

/**
 * A distinguished name built from the usual attributes, encoded in this order: C, ST, L, O, OU, CN, serialNumber.
 *
 * @example
 * ca.issueX509Svid({ spiffeId, subject: { organization: 'Acme', commonName: 'web' } });
 */
export interface DistinguishedName {
  /** Two-letter country code (PrintableString). */
  readonly country?: string;
  readonly state?: string;
  readonly locality?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly commonName?: string;
  /** The X.520 serialNumber attribute (PrintableString), not the certificate serial. */
  readonly serialNumber?: string;
}

const NAME_ATTRS: readonly [keyof DistinguishedName, string, number][] = [
  ['country', OID.country, TAG.PRINTABLE_STRING],
  ['state', OID.state, TAG.UTF8_STRING],
  ['locality', OID.locality, TAG.UTF8_STRING],
  ['organization', OID.organization, TAG.UTF8_STRING],
  ['organizationalUnit', OID.organizationalUnit, TAG.UTF8_STRING],
  ['commonName', OID.commonName, TAG.UTF8_STRING],
  ['serialNumber', OID.serialNumber, TAG.PRINTABLE_STRING],
];

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Checks a DistinguishedName; returns an error message naming the bad attribute, or undefined. */
export function checkName(dn: DistinguishedName): string | undefined {
  for (const key of Object.keys(dn)) {
    const attr = NAME_ATTRS.find(([k]) => k === key);
    if (attr === undefined) return `unknown attribute "${key}" (accepted: ${NAME_ATTRS.map(([k]) => k).join(', ')})`;
    const v = dn[key as keyof DistinguishedName];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 64) return `"${key}" must be a string of 1–64 characters`;
    if (attr[2] === TAG.PRINTABLE_STRING && !PRINTABLE.test(v)) return `"${key}" must use PrintableString characters`;
    if (key === 'country' && !/^[A-Z]{2}$/.test(v)) return '"country" must be a two-letter code such as "US"';
  }
  return undefined;
}

/** Name DER (RDNSequence, one attribute per RDN). An empty or undefined name is the empty SEQUENCE. */
export function encodeName(dn: DistinguishedName | undefined): Buffer {
  const rdns: Buffer[] = [];
  if (dn !== undefined) {
    for (const [key, attrOid, tag] of NAME_ATTRS) {
      const v = dn[key];
      if (v !== undefined) rdns.push(tlv(TAG.SET, seq(oid(attrOid), tlv(tag, Buffer.from(v, 'utf8')))));
    }
  }
  return seq(...rdns);
}

/** keyUsage extension value (a DER BIT STRING with trailing zero bits trimmed, X.690 §11.2.2). */
export function keyUsageValue(bits: number): Buffer {
  const bytes = [bits & 0xff, (bits >> 8) & 0xff].map((b) => {
    let r = 0;
    for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >> i;
    return r;
  });
  while (bytes.length > 1 && bytes[bytes.length - 1] === 0) bytes.pop();
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  if (last !== 0) while (((last >> unused) & 1) === 0) unused++;
  return tlv(TAG.BIT_STRING, Buffer.of(unused, ...bytes));
}

// Random serial numbers (RFC 5280 §4.1.2.2: positive, ≤ 20 octets): 128 random bits from a refilled pool.
const pool = Buffer.allocUnsafe(4096);
let poolPos = pool.length;

/** A random positive 128-bit serial number as a DER INTEGER. */
export function randomSerial(): Buffer {
  if (poolPos + 16 > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const bytes = pool.subarray(poolPos, poolPos + 16);
  poolPos += 16;
  // Never zero: a zero serial is not positive.
  if (bytes.every((b) => b === 0)) bytes[15] = 1;
  return uintFromBytes(bytes);
}

interface Constants {
  version: Buffer;
  leafBasicConstraints: Buffer;
  leafKeyUsageEc: Buffer;
  leafKeyUsageRsa: Buffer;
  eku: Buffer;
  skiOid: Buffer;
  akiOid: Buffer;
  sanOid: Buffer;
  emptyName: Buffer;
}
let constants: Constants | undefined;

function c(): Constants {
  constants ??= {
    version: tlv(0xa0, Buffer.of(TAG.INTEGER, 1, 2)),
    // X509-SVID §4.1: cA=false, critical.
    leafBasicConstraints: extension(oid(OID.basicConstraints), true, seq()),
    // X509-SVID §4.3: keyUsage critical, digitalSignature (+ keyEncipherment for RSA keys).
    leafKeyUsageEc: extension(oid(OID.keyUsage), true, keyUsageValue(KU.digitalSignature)),
    leafKeyUsageRsa: extension(oid(OID.keyUsage), true, keyUsageValue(KU.digitalSignature | KU.keyEncipherment)),
    // X509-SVID §4.4: EKU with both serverAuth and clientAuth.
    eku: extension(oid(OID.extKeyUsage), false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
    skiOid: oid(OID.subjectKeyIdentifier),
    akiOid: oid(OID.authorityKeyIdentifier),
    sanOid: oid(OID.subjectAltName),
    emptyName: seq(),
  };
  return constants;
}

/** The issuing side of a template: the CA's key, its subject (the leaf's issuer) and its key identifier. */
export interface TemplateSigner {
  readonly privateKey: KeyObject;
  readonly keyType: KeyType;
  readonly subjectDer: Uint8Array;
  readonly subjectKeyId: Uint8Array;
}

export interface LeafFields {
  readonly notBefore: number;
  readonly notAfter: number;
  /** Subject Name DER; the empty name when undefined (then the SAN is critical, X509-SVID §2). */
  readonly subjectDer?: Uint8Array;
  readonly spki: Uint8Array;
  readonly rsaKey: boolean;
  readonly uri: string;
  readonly dnsNames: readonly string[];
}

/** Precomputed per-CA pieces of the X.509-SVID template; `issue` returns a signed DER certificate. */
export class LeafTemplate {
  readonly #signer: TemplateSigner;
  readonly #sigAlgId: Buffer;
  readonly #hash: string;
  readonly #issuer: Buffer;
  readonly #aki: Buffer;

  constructor(signer: TemplateSigner) {
    const k = c();
    this.#signer = signer;
    const alg = signatureAlgorithm(signer.keyType);
    this.#sigAlgId = alg.algId;
    this.#hash = alg.hash;
    this.#issuer = Buffer.from(signer.subjectDer);
    this.#aki = extension(k.akiOid, false, seq(tlv(0x80, signer.subjectKeyId)));
  }

  issue(f: LeafFields): Buffer {
    const k = c();
    const subject = f.subjectDer === undefined ? k.emptyName : f.subjectDer;
    const subjectEmpty = subject.length === 2;
    const names: Buffer[] = [tlv(0x86, Buffer.from(f.uri, 'latin1'))];
    for (const d of f.dnsNames) names.push(tlv(0x82, Buffer.from(d, 'latin1')));
    const san = extension(k.sanOid, subjectEmpty, seq(...names));
    const ski = extension(k.skiOid, false, tlv(TAG.OCTET_STRING, keyIdentifier(f.spki)));
    const exts = tlv(
      0xa3,
      seq(k.leafBasicConstraints, f.rsaKey ? k.leafKeyUsageRsa : k.leafKeyUsageEc, k.eku, ski, this.#aki, san),
    );
    const tbs = seq(
      k.version,
      randomSerial(),
      this.#sigAlgId,
      this.#issuer,
      seq(derTime(f.notBefore), derTime(f.notAfter)),
      subject,
      f.spki,
      exts,
    );
    return signTbs(tbs, this.#sigAlgId, this.#hash, this.#signer.privateKey);
  }
}

function signTbs(tbs: Buffer, sigAlgId: Buffer, hash: string, key: KeyObject): Buffer {
  const sig = sign(hash, tbs, key);
  return seq(tbs, sigAlgId, tlv(TAG.BIT_STRING, Buffer.of(0), sig));
}

export interface CaCertFields {
  /** Who signs: the CA itself (self-signed) or the upstream CA. */
  readonly issuer: {
    readonly privateKey: KeyObject;
    readonly keyType: KeyType;
    readonly subjectDer: Uint8Array;
    /** Omitted for self-signed roots (RFC 5280 §4.2.1.1 allows it). */
    readonly subjectKeyId: Uint8Array | undefined;
  };
  readonly subjectDer: Uint8Array;
  readonly spki: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The trust domain ID (X509-SVID §3: a signing certificate's SPIFFE ID, if any, has no path). */
  readonly uri: string;
  readonly pathLen?: number;
}

/** A CA certificate: cA=true (critical), keyUsage keyCertSign+cRLSign (critical), SKI, AKI, URI SAN. */
export function buildCaCertificate(f: CaCertFields): Buffer {
  const k = c();
  const alg = signatureAlgorithm(f.issuer.keyType);
  const bc = seq(
    Buffer.of(TAG.BOOLEAN, 1, 0xff),
    ...(f.pathLen === undefined ? [] : [uintFromBytes(Buffer.of(f.pathLen))]),
  );
  const exts: Buffer[] = [
    extension(oid(OID.basicConstraints), true, bc),
    extension(oid(OID.keyUsage), true, keyUsageValue(KU.keyCertSign | KU.cRLSign)),
    extension(k.skiOid, false, tlv(TAG.OCTET_STRING, keyIdentifier(f.spki))),
  ];
  if (f.issuer.subjectKeyId !== undefined) exts.push(extension(k.akiOid, false, seq(tlv(0x80, f.issuer.subjectKeyId))));
  exts.push(extension(k.sanOid, f.subjectDer.length === 2, seq(tlv(0x86, Buffer.from(f.uri, 'latin1')))));
  const tbs = seq(
    k.version,
    randomSerial(),
    alg.algId,
    f.issuer.subjectDer,
    seq(derTime(f.notBefore), derTime(f.notAfter)),
    f.subjectDer,
    f.spki,
    tlv(0xa3, seq(...exts)),
  );
  return signTbs(tbs, alg.algId, alg.hash, f.issuer.privateKey);
}
