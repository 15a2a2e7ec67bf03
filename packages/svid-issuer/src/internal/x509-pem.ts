// PEM (RFC 7468) encode/decode. Strict about structure: text outside blocks is allowed (explanatory text, as
// RFC 7468 §5.2 permits), but a block must be well-formed and of an expected type.
import { SvidIssuerError } from '../errors.js';

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** All PEM blocks in `text`; throws ERR_WID_X509_BAD_PEM on an unterminated block or bad base64. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m !== null; m = BEGIN.exec(text)) {
    const type = m[1]!;
    const endMarker = `-----END ${type}-----`;
    const bodyStart = m.index + m[0].length;
    const endIdx = text.indexOf(endMarker, bodyStart);
    if (endIdx < 0) {
      throw new SvidIssuerError('ERR_WID_X509_BAD_PEM', `PEM block "${type}" has no matching END line`, {
        input: type,
      });
    }
    const body = text.slice(bodyStart, endIdx).replace(/\s+/g, '');
    if (body.includes('-----') || body.includes(':')) {
      throw new SvidIssuerError(
        'ERR_WID_X509_BAD_PEM',
        `PEM block "${type}" is malformed (headers or nested markers)`,
        {
          input: type,
        },
      );
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new SvidIssuerError('ERR_WID_X509_BAD_PEM', `PEM block "${type}" does not hold valid base64`, {
        input: type,
      });
    }
    blocks.push({ type, der: Buffer.from(body, 'base64') });
    BEGIN.lastIndex = endIdx + endMarker.length;
  }
  return blocks;
}

/** Decodes PEM text that must hold only blocks of one of `types`. */
export function decodePemOfType(text: string, types: readonly string[], what: string): Buffer[] {
  const blocks = decodePem(text);
  if (blocks.length === 0 && text.trim() !== '') {
    throw new SvidIssuerError('ERR_WID_X509_BAD_PEM', `no PEM blocks found in the ${what} input`, {
      input: text.trim().slice(0, 40),
    });
  }
  return blocks.map((b, index) => {
    if (!types.includes(b.type)) {
      throw new SvidIssuerError('ERR_WID_X509_BAD_PEM', `expected block type ${types[0]}; got "${b.type}"`, {
        input: b.type,
        index,
      });
    }
    return b.der;
  });
}

export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let out = `-----BEGIN ${type}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${type}-----\n`;
}

/** True when the bytes look like PEM text rather than DER (DER certs start with 0x30). */
export function looksLikePem(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x2d; // '-'
}
