// A tiny DER *writer*: just what the fixed X.509-SVID / CA certificate templates need. Everything here works on
// Uint8Array/Buffer and allocates exactly once per TLV, so the issuance hot path stays a few microseconds.

/** Bytes of a DER length field for `len`. */
export function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.of(len);
  if (len < 0x100) return Buffer.of(0x81, len);
  if (len < 0x10000) return Buffer.of(0x82, len >> 8, len & 0xff);
  if (len < 0x1000000) return Buffer.of(0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
  throw new RangeError(`DER value too long (${len} bytes)`);
}

function headerSize(len: number): number {
  return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5;
}

/** One TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(headerSize(len) + len);
  out[0] = tag;
  let o = 1;
  if (len < 0x80) out[o++] = len;
  else if (len < 0x100) {
    out[o++] = 0x81;
    out[o++] = len;
  } else if (len < 0x10000) {
    out[o++] = 0x82;
    out[o++] = len >> 8;
    out[o++] = len & 0xff;
  } else if (len < 0x1000000) {
    out[o++] = 0x83;
    out[o++] = len >> 16;
    out[o++] = (len >> 8) & 0xff;
    out[o++] = len & 0xff;
  } else throw new RangeError(`DER value too long (${len} bytes)`);
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export const seq = (...parts: readonly Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...parts);

/** DER OBJECT IDENTIFIER from dotted text (used once per constant, never on the hot path). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const push = (v: bigint) => {
    const tmp = [Number(v & 0x7fn)];
    let x = v >> 7n;
    while (x > 0n) {
      tmp.unshift(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    bytes.push(...tmp);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** DER INTEGER from an unsigned big-endian magnitude (adds the 0x00 sign byte and strips redundant zeros). */
export function uintFromBytes(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length === 0) return Buffer.of(TAG.INTEGER, 1, 0);
  return (m[0]! & 0x80) !== 0 ? tlv(TAG.INTEGER, Buffer.of(0), m) : tlv(TAG.INTEGER, m);
}

export function smallInt(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`bad small integer ${n}`);
  const bytes: number[] = [];
  let x = n;
  do {
    bytes.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (x > 0);
  return uintFromBytes(Buffer.from(bytes));
}

export const BOOLEAN_TRUE = Buffer.of(TAG.BOOLEAN, 1, 0xff);
export const NULL = Buffer.of(TAG.NULL, 0);

export function octetString(v: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, v);
}

/** BIT STRING with zero unused bits (signatures, public keys). */
export function bitStringBytes(v: Uint8Array): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.of(0), v);
}

/** Time (RFC 5280 §4.1.2.5): UTCTime for years 1950–2049, GeneralizedTime otherwise; whole seconds, always `Z`. */
export function derTime(epochMs: number): Buffer {
  const d = new Date(Math.floor(epochMs / 1000) * 1000);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`date out of range: ${d.toISOString()}`);
  const p2 = (n: number) => (n < 10 ? '0' : '') + n;
  const rest = p2(d.getUTCMonth() + 1) + p2(d.getUTCDate()) + p2(d.getUTCHours()) + p2(d.getUTCMinutes());
  const tail = `${rest}${p2(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(p2(y % 100) + tail, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + tail, 'latin1'));
}

/** An Extension (RFC 5280 §4.1): SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function extension(extnOid: Uint8Array, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(extnOid, BOOLEAN_TRUE, octetString(value)) : seq(extnOid, octetString(value));
}
