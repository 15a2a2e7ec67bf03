// A small, strict DER *reader* for the parts of certificates and CSRs wid inspects. Every read is bounds-checked;
// malformed input throws Asn1Error, which callers turn into a coded SvidIssuerError. Only single-byte tags and
// definite, minimally encoded lengths are accepted (DER, X.690 §10.1).

export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
}

/** A decoded TLV: `tag`, and offsets into the buffer it was read from. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first value byte. */
  readonly valueStart: number;
  /** Offset just past the value. */
  readonly end: number;
}

export function readTlv(buf: Uint8Array, pos: number, limit: number = buf.length): Tlv {
  if (pos + 2 > limit) throw new Asn1Error(`truncated DER at offset ${pos}`);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error(`unsupported multi-byte tag at offset ${pos}`);
  let len = buf[pos + 1]!;
  let valueStart = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new Asn1Error(`indefinite length at offset ${pos}`);
    if (n > 4) throw new Asn1Error(`length too long at offset ${pos}`);
    if (valueStart + n > limit) throw new Asn1Error(`truncated length at offset ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[valueStart + i]!;
    if (len < 0x80 || (n > 1 && buf[valueStart] === 0)) throw new Asn1Error(`non-minimal length at offset ${pos}`);
    valueStart += n;
  }
  const end = valueStart + len;
  if (end > limit) throw new Asn1Error(`value overruns its container at offset ${pos}`);
  return { tag, start: pos, valueStart, end };
}

/** Reads `tlv` and checks its tag. */
export function expectTlv(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, pos, limit);
  if (t.tag !== tag) {
    throw new Asn1Error(`expected ${what} (tag 0x${tag.toString(16)}) at offset ${pos}, got 0x${t.tag.toString(16)}`);
  }
  return t;
}

/** The TLVs directly inside a constructed `parent`. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.valueStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Reads exactly one top-level TLV spanning the whole buffer. */
export function readWhole(buf: Uint8Array, tag: number, what: string): Tlv {
  const t = expectTlv(buf, 0, buf.length, tag, what);
  if (t.end !== buf.length) throw new Asn1Error(`${buf.length - t.end} trailing bytes after ${what}`);
  return t;
}

export function value(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.valueStart, t.end);
}

export function raw(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

export function decodeOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06) throw new Asn1Error(`expected OBJECT IDENTIFIER at offset ${t.start}`);
  const v = value(buf, t);
  if (v.length === 0) throw new Asn1Error('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (acc === 0 && b === 0x80) throw new Asn1Error('non-minimal OBJECT IDENTIFIER arc');
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER) throw new Asn1Error('OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(acc);
      acc = 0;
    } else if (i === v.length - 1) throw new Asn1Error('truncated OBJECT IDENTIFIER');
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function decodeBoolean(buf: Uint8Array, t: Tlv): boolean {
  if (t.tag !== 0x01 || t.end - t.valueStart !== 1) throw new Asn1Error(`bad BOOLEAN at offset ${t.start}`);
  const b = buf[t.valueStart]!;
  if (b !== 0 && b !== 0xff) throw new Asn1Error(`non-DER BOOLEAN at offset ${t.start}`);
  return b === 0xff;
}

/** A small non-negative INTEGER (pathLenConstraint, versions). */
export function decodeSmallUint(buf: Uint8Array, t: Tlv): number {
  if (t.tag !== 0x02) throw new Asn1Error(`expected INTEGER at offset ${t.start}`);
  const v = value(buf, t);
  if (v.length === 0 || v.length > 4 || (v[0]! & 0x80) !== 0) throw new Asn1Error(`bad small INTEGER at ${t.start}`);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** BIT STRING contents: [unusedBits, ...bytes]. Returns the bytes and the unused-bit count. */
export function decodeBitString(buf: Uint8Array, t: Tlv): { bytes: Uint8Array; unused: number } {
  if (t.tag !== 0x03 || t.end - t.valueStart < 1) throw new Asn1Error(`bad BIT STRING at offset ${t.start}`);
  const unused = buf[t.valueStart]!;
  if (unused > 7 || (unused > 0 && t.end - t.valueStart === 1)) throw new Asn1Error('bad BIT STRING padding');
  // DER (X.690 §11.2.1): the unused bits of the last octet are zero. Otherwise a padding bit could be read as a
  // flag (keyUsage `03 02 03 84` would claim keyCertSign); Go rejects such input too.
  if (unused > 0 && (buf[t.end - 1]! & ((1 << unused) - 1)) !== 0) {
    throw new Asn1Error(`non-zero unused bits in BIT STRING at offset ${t.start}`);
  }
  return { bytes: buf.subarray(t.valueStart + 1, t.end), unused };
}

function digits(s: string, from: number, n: number): number {
  const part = s.slice(from, from + n);
  if (!/^\d+$/.test(part) || part.length !== n) throw new Asn1Error(`bad time "${s}"`);
  return Number(part);
}

/** UTCTime / GeneralizedTime as RFC 5280 §4.1.2.5 profiles them (seconds, `Z`), in epoch milliseconds. */
export function decodeTime(buf: Uint8Array, t: Tlv): number {
  const s = Buffer.from(value(buf, t)).toString('latin1');
  let year: number;
  let rest: number;
  if (t.tag === 0x17) {
    if (s.length !== 13 || s[12] !== 'Z') throw new Asn1Error(`bad UTCTime "${s}"`);
    const yy = digits(s, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (t.tag === 0x18) {
    if (s.length !== 15 || s[14] !== 'Z') throw new Asn1Error(`bad GeneralizedTime "${s}"`);
    year = digits(s, 0, 4);
    rest = 4;
  } else throw new Asn1Error(`expected a Time at offset ${t.start}`);
  const mo = digits(s, rest, 2);
  const d = digits(s, rest + 2, 2);
  const h = digits(s, rest + 4, 2);
  const mi = digits(s, rest + 6, 2);
  const se = digits(s, rest + 8, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) throw new Asn1Error(`bad time "${s}"`);
  return Date.UTC(year, mo - 1, d, h, mi, se);
}
