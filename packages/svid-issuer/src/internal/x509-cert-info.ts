// Decodes the parts of a certificate that SPIFFE validation needs and Node's X509Certificate does not expose (or
// exposes only as display strings): exact validity dates, basicConstraints, keyUsage bits, the SAN list, SKI/AKI,
// name constraints and unhandled critical extensions. Results are cached per X509Certificate object.
import { X509Certificate } from 'node:crypto';
import { SvidIssuerError } from '../errors.js';
import {
  Asn1Error,
  children,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallUint,
  decodeTime,
  expectTlv,
  raw,
  readWhole,
  type Tlv,
  value,
} from './x509-asn1.js';
import { OID } from './x509-oids.js';

/** keyUsage bits (RFC 5280 §4.2.1.3), as bit i of the BIT STRING → 1 << i. */
export const KU = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export interface GeneralNames {
  readonly uris: string[];
  readonly dnsNames: string[];
  readonly ipAddresses: Uint8Array[];
  readonly emails: string[];
  /** Count of other forms (otherName, directoryName, registeredID, …). */
  readonly others: number;
}

export interface GeneralSubtrees {
  readonly dns: string[];
  readonly uri: string[];
  /** Subtree forms wid does not evaluate (ip, email, directoryName, …). */
  readonly unsupported: string[];
}

export interface CertInfo {
  readonly der: Uint8Array;
  readonly version: number;
  readonly tbs: Uint8Array;
  readonly serial: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  /** True when the subject is the empty sequence. */
  readonly subjectEmpty: boolean;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spkiDer: Uint8Array;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen: number | undefined } | undefined;
  /** keyUsage bit set, or undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly extKeyUsage: string[] | undefined;
  readonly san: (GeneralNames & { readonly critical: boolean }) | undefined;
  readonly subjectKeyId: Uint8Array | undefined;
  readonly authorityKeyId: Uint8Array | undefined;
  readonly nameConstraints: { permitted: GeneralSubtrees; excluded: GeneralSubtrees } | undefined;
  readonly unhandledCritical: string[];
}

const cache = new WeakMap<X509Certificate, CertInfo>();

/** Decoded view of `cert` (cached). Throws ERR_WID_X509_BAD_CERTIFICATE with `index` on anything malformed. */
export function certInfo(cert: X509Certificate, index?: number): CertInfo {
  let info = cache.get(cert);
  if (info === undefined) {
    info = parseCertDer(cert.raw, index);
    cache.set(cert, info);
  }
  return info;
}

/** Parses a DER certificate into a Node X509Certificate, turning failures into ERR_WID_X509_BAD_CERTIFICATE. */
export function toX509Certificate(der: Uint8Array, index?: number): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (cause) {
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_CERTIFICATE',
      `cannot parse certificate${index === undefined ? '' : ` ${index}`}: not a DER X.509 certificate`,
      { index, cause },
    );
  }
  certInfo(cert, index);
  return cert;
}

/** Splits concatenated DER certificates (as the Workload API sends them) into single DER certificates. */
export function splitConcatenatedDer(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bytes.length) {
    let t: Tlv;
    try {
      t = expectTlv(bytes, p, bytes.length, 0x30, 'Certificate');
    } catch (cause) {
      throw new SvidIssuerError(
        'ERR_WID_X509_BAD_CERTIFICATE',
        `cannot parse certificate ${out.length}: not a DER X.509 certificate (${(cause as Error).message})`,
        { index: out.length, cause },
      );
    }
    out.push(bytes.subarray(t.start, t.end));
    p = t.end;
  }
  return out;
}

export function parseCertDer(der: Uint8Array, index?: number): CertInfo {
  try {
    return parseCertDerUnchecked(der);
  } catch (cause) {
    if (!(cause instanceof Asn1Error)) throw cause;
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_CERTIFICATE',
      `cannot parse certificate${index === undefined ? '' : ` ${index}`}: ${cause.message}`,
      { index, cause },
    );
  }
}

function parseCertDerUnchecked(der: Uint8Array): CertInfo {
  const certT = readWhole(der, 0x30, 'Certificate');
  const [tbsT] = children(der, certT);
  if (tbsT === undefined || tbsT.tag !== 0x30) throw new Asn1Error('missing TBSCertificate');
  const f = children(der, tbsT);
  let i = 0;
  let version = 1;
  if (f[i]?.tag === 0xa0) {
    const [vT] = children(der, f[i]!);
    if (vT === undefined) throw new Asn1Error('empty version');
    version = decodeSmallUint(der, vT) + 1;
    i++;
  }
  const serialT = need(f[i++], 0x02, 'serialNumber');
  need(f[i++], 0x30, 'signature');
  const issuerT = need(f[i++], 0x30, 'issuer');
  const validityT = need(f[i++], 0x30, 'validity');
  const subjectT = need(f[i++], 0x30, 'subject');
  const spkiT = need(f[i++], 0x30, 'subjectPublicKeyInfo');
  const [nbT, naT] = children(der, validityT);
  if (nbT === undefined || naT === undefined) throw new Asn1Error('validity needs notBefore and notAfter');
  let extsT: Tlv | undefined;
  for (; i < f.length; i++) {
    const t = f[i]!;
    if (t.tag === 0xa3) extsT = t;
    else if (t.tag !== 0x81 && t.tag !== 0x82)
      throw new Asn1Error(`unexpected TBSCertificate field 0x${t.tag.toString(16)}`);
  }
  const info = {
    der,
    version,
    tbs: raw(der, tbsT),
    serial: value(der, serialT),
    issuerDer: raw(der, issuerT),
    subjectDer: raw(der, subjectT),
    subjectEmpty: subjectT.end === subjectT.valueStart,
    notBefore: decodeTime(der, nbT),
    notAfter: decodeTime(der, naT),
    spkiDer: raw(der, spkiT),
    basicConstraints: undefined as CertInfo['basicConstraints'],
    keyUsage: undefined as number | undefined,
    extKeyUsage: undefined as string[] | undefined,
    san: undefined as CertInfo['san'],
    subjectKeyId: undefined as Uint8Array | undefined,
    authorityKeyId: undefined as Uint8Array | undefined,
    nameConstraints: undefined as CertInfo['nameConstraints'],
    unhandledCritical: [] as string[],
  };
  if (extsT !== undefined) {
    const [listT] = children(der, extsT);
    if (listT === undefined || listT.tag !== 0x30) throw new Asn1Error('bad extensions');
    const seen = new Set<string>();
    for (const extT of children(der, listT)) {
      if (extT.tag !== 0x30) throw new Asn1Error('bad extension');
      const parts = children(der, extT);
      const extnId = decodeOid(der, need(parts[0], 0x06, 'extnID'));
      let critical = false;
      let valT = parts[1];
      if (valT?.tag === 0x01) {
        critical = decodeBoolean(der, valT);
        valT = parts[2];
      }
      need(valT, 0x04, 'extnValue');
      if (seen.has(extnId)) throw new Asn1Error(`duplicate extension ${extnId}`);
      seen.add(extnId);
      const v = value(der, valT!);
      switch (extnId) {
        case OID.basicConstraints:
          info.basicConstraints = parseBasicConstraints(v);
          break;
        case OID.keyUsage:
          info.keyUsage = parseKeyUsage(v);
          break;
        case OID.extKeyUsage:
          info.extKeyUsage = parseExtKeyUsage(v);
          break;
        case OID.subjectAltName:
          info.san = { ...parseGeneralNames(v, readWhole(v, 0x30, 'GeneralNames')), critical };
          break;
        case OID.subjectKeyIdentifier:
          info.subjectKeyId = value(v, readWhole(v, 0x04, 'SubjectKeyIdentifier'));
          break;
        case OID.authorityKeyIdentifier:
          info.authorityKeyId = parseAki(v);
          break;
        case OID.nameConstraints:
          info.nameConstraints = parseNameConstraints(v);
          break;
        case OID.certificatePolicies:
          // Policies are not evaluated (no policy-constrained validation, like go-spiffe's default).
          break;
        default:
          if (critical) info.unhandledCritical.push(extnId);
      }
    }
  }
  return Object.freeze(info);
}

function need(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) throw new Asn1Error(`missing or malformed ${what}`);
  return t;
}

function parseBasicConstraints(v: Uint8Array): { ca: boolean; pathLen: number | undefined } {
  const parts = children(v, readWhole(v, 0x30, 'BasicConstraints'));
  let ca = false;
  let pathLen: number | undefined;
  let k = 0;
  if (parts[k]?.tag === 0x01) ca = decodeBoolean(v, parts[k++]!);
  if (parts[k]?.tag === 0x02) pathLen = decodeSmallUint(v, parts[k++]!);
  if (k !== parts.length) throw new Asn1Error('bad BasicConstraints');
  return { ca, pathLen };
}

function parseKeyUsage(v: Uint8Array): number {
  const { bytes } = decodeBitString(v, readWhole(v, 0x03, 'KeyUsage'));
  let bits = 0;
  for (let i = 0; i < Math.min(bytes.length, 2) * 8; i++) {
    if ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) bits |= 1 << i;
  }
  return bits;
}

function parseExtKeyUsage(v: Uint8Array): string[] {
  return children(v, readWhole(v, 0x30, 'ExtKeyUsage')).map((t) => decodeOid(v, t));
}

function parseGeneralNames(buf: Uint8Array, seqT: Tlv): GeneralNames {
  const out = {
    uris: [] as string[],
    dnsNames: [] as string[],
    ipAddresses: [] as Uint8Array[],
    emails: [] as string[],
    others: 0,
  };
  for (const t of children(buf, seqT)) {
    const s = () => Buffer.from(value(buf, t)).toString('latin1');
    if (t.tag === 0x86) out.uris.push(s());
    else if (t.tag === 0x82) out.dnsNames.push(s());
    else if (t.tag === 0x87) out.ipAddresses.push(value(buf, t));
    else if (t.tag === 0x81) out.emails.push(s());
    else out.others++;
  }
  return out;
}

function parseAki(v: Uint8Array): Uint8Array | undefined {
  for (const t of children(v, readWhole(v, 0x30, 'AuthorityKeyIdentifier'))) {
    if (t.tag === 0x80) return value(v, t);
  }
  return undefined;
}

function parseSubtrees(buf: Uint8Array, t: Tlv | undefined): GeneralSubtrees {
  const out = { dns: [] as string[], uri: [] as string[], unsupported: [] as string[] };
  if (t === undefined) return out;
  for (const sub of children(buf, t)) {
    if (sub.tag !== 0x30) throw new Asn1Error('bad GeneralSubtree');
    const [base] = children(buf, sub);
    if (base === undefined) throw new Asn1Error('empty GeneralSubtree');
    const s = Buffer.from(value(buf, base)).toString('latin1');
    if (base.tag === 0x82) out.dns.push(s);
    else if (base.tag === 0x86) out.uri.push(s);
    else out.unsupported.push(GENERAL_NAME_KIND[base.tag] ?? `tag 0x${base.tag.toString(16)}`);
  }
  return out;
}

const GENERAL_NAME_KIND: Record<number, string> = {
  160: 'otherName',
  129: 'rfc822Name',
  164: 'directoryName',
  135: 'iPAddress',
  136: 'registeredID',
};

function parseNameConstraints(v: Uint8Array): { permitted: GeneralSubtrees; excluded: GeneralSubtrees } {
  let permittedT: Tlv | undefined;
  let excludedT: Tlv | undefined;
  for (const t of children(v, readWhole(v, 0x30, 'NameConstraints'))) {
    if (t.tag === 0xa0) permittedT = t;
    else if (t.tag === 0xa1) excludedT = t;
    else throw new Asn1Error('bad NameConstraints');
  }
  return { permitted: parseSubtrees(v, permittedT), excluded: parseSubtrees(v, excludedT) };
}
