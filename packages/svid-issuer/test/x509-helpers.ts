// Test helpers for the X.509 tests: an independent certificate builder (@peculiar/x509 over WebCrypto) to make
// good and deliberately bad certificates, and OpenSSL runners to cross-check what wid produces.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export { x509 };

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function ecKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function toKeyObject(key: CryptoKey): Promise<KeyObject> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export interface Built {
  readonly cert: X509Certificate;
  readonly pec: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly name: string;
}

export interface CertSpec {
  /** Subject DN text; default: a unique CN. */
  readonly name?: string;
  /** Issuer; default self-signed. */
  readonly issuer?: Built;
  readonly keys?: CryptoKeyPair;
  /** basicConstraints: true/false, or 'absent'. Default false (leaf). */
  readonly ca?: boolean | 'absent';
  readonly pathLen?: number;
  /** keyUsage flags, or 'absent'. Default digitalSignature for leaves, keyCertSign|cRLSign for CAs. */
  readonly keyUsage?: number | 'absent';
  readonly uris?: readonly string[];
  readonly dns?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly extra?: readonly x509.Extension[];
}

let counter = 0;

/** Builds a certificate with @peculiar/x509 (never with wid's own encoder). */
export async function makeCert(spec: CertSpec = {}): Promise<Built> {
  const keys = spec.keys ?? (await ecKeys());
  const name = spec.name ?? `CN=test-${++counter}`;
  const ca = spec.ca ?? false;
  const exts: x509.Extension[] = [];
  if (ca !== 'absent') exts.push(new x509.BasicConstraintsExtension(ca, spec.pathLen, true));
  const ku =
    spec.keyUsage ??
    (ca === true ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature);
  if (ku !== 'absent') exts.push(new x509.KeyUsagesExtension(ku, true));
  const names = [
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(spec.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  if (names.length > 0) exts.push(new x509.SubjectAlternativeNameExtension(names, false));
  exts.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (spec.issuer !== undefined)
    exts.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.keys.publicKey));
  exts.push(...(spec.extra ?? []));
  const now = Date.now();
  const common = {
    serialNumber: (0x1000 + counter).toString(16),
    notBefore: spec.notBefore ?? new Date(now - 3_600_000),
    notAfter: spec.notAfter ?? new Date(now + 86_400_000),
    extensions: exts,
    signingAlgorithm: EC_P256,
  };
  const pec =
    spec.issuer === undefined
      ? await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys })
      : await x509.X509CertificateGenerator.create({
          ...common,
          subject: name,
          issuer: spec.issuer.name,
          publicKey: keys.publicKey,
          signingKey: spec.issuer.keys.privateKey,
        });
  return { cert: new X509Certificate(Buffer.from(pec.rawData)), pec, keys, name };
}

/** A root CA, an intermediate CA beneath it, and a leaf SVID for `id` beneath that. */
export async function makeChain(
  id = 'spiffe://example.org/workload',
  leaf: Omit<CertSpec, 'issuer'> = {},
): Promise<{ root: Built; intermediate: Built; leaf: Built; leafKey: KeyObject }> {
  const root = await makeCert({ ca: true, name: 'CN=root' });
  const intermediate = await makeCert({ ca: true, issuer: root, name: 'CN=intermediate' });
  const l = await makeCert({ uris: [id], ...leaf, issuer: intermediate });
  return { root, intermediate, leaf: l, leafKey: await toKeyObject(l.keys.privateKey) };
}

export function pem(...certs: X509Certificate[]): string {
  return certs.map((c) => c.toString()).join('');
}

/** Runs openssl with `files` written to a temp dir (referenced as {name} in args). */
export function openssl(
  args: string[],
  files: Record<string, string | Uint8Array> = {},
): { status: number; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wid-x509-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const r = spawnSync(
      'openssl',
      args.map((a) => a.replace(/\{(\w[\w.-]*)\}/g, (_, n: string) => join(dir, n))),
      {
        encoding: 'utf8',
      },
    );
    if (r.error) throw r.error;
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
