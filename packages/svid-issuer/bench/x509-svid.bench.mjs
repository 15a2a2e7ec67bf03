// X.509-SVID issuance: a new EC P-256 workload key + a signed, DER-encoded SVID (plus its PKCS#8 key) from wid's CA,
// against a same-run baseline of the raw node:crypto floor (generateKeyPairSync P-256 + one ECDSA P-256 signature
// over a TBS-sized buffer). Also prints the other request shapes (workload KeyObject, SPKI DER) and what
// @peculiar/x509 achieves for the same leaf — the reason the hot path is hand-written DER. Rounds are interleaved;
// figures are medians. Run `corepack pnpm exec tsc -b packages/svid-issuer` first.
import 'reflect-metadata';
import { createECDH, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createCertificateAuthority } from '@wid/svid-issuer';

const ROUNDS = 5;
const ROUND_MS = 700;

const ca = createCertificateAuthority({ trustDomain: 'example.org' });
const id = 'spiffe://example.org/ns/default/sa/web';

// The CA generates the key (the embedded agent's path): certificate DER + PKCS#8 DER.
function ours() {
  const svid = ca.issueX509Svid({ spiffeId: id });
  return [svid.certificatesDer[0], svid.privateKeyDer];
}

// The workload brings a KeyObject fresh from generateKeyPairSync (pays OpenSSL 3.0's SPKI encoder, ~95 µs on Node
// 20). The CA only takes its SPKI DER: inspecting such a key (asymmetricKeyDetails, JWK export) while a GC finalizes
// its key-generation job deadlocks Node 20, which hung this bench in CI before the fix.
function oursKeyObject() {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return ca.issueX509Svid({ spiffeId: id, publicKey }).certificatesDer[0];
}

// The workload sends SPKI DER (the remote-issuance path); its key generation is included via ECDH.
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
function oursSpki() {
  const point = createECDH('prime256v1').generateKeys();
  return ca.issueX509Svid({ spiffeId: id, publicKey: Buffer.concat([SPKI_PREFIX, point]) }).certificatesDer[0];
}

const baselineKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const tbsSized = Buffer.from(ours()[0].subarray(4, 4 + 420));
function baseline() {
  generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return sign('sha256', tbsSized, baselineKey);
}
function baselineEcdh() {
  createECDH('prime256v1').generateKeys();
  return sign('sha256', tbsSized, baselineKey);
}

x509.cryptoProvider.set(webcrypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const pecCaKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
const pecCa = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: '01',
  name: 'C=US, O=SPIFFE',
  notBefore: new Date(),
  notAfter: new Date(Date.now() + 86_400_000),
  keys: pecCaKeys,
  signingAlgorithm: alg,
  extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
});
async function peculiar() {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '7f0123456789abcdef0123456789abcd',
    issuer: pecCa.subject,
    subject: '',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: pecCaKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(pecCaKeys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true),
    ],
  });
  return cert.rawData;
}

async function measure(fn, ms) {
  const start = performance.now();
  let n = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

function measureSync(fn, ms) {
  const start = performance.now();
  let n = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm-up.
for (const f of [ours, oursKeyObject, oursSpki, baseline, baselineEcdh]) measureSync(f, 150);
await measure(peculiar, 150);

const subjects = { baseline, ours, oursKeyObject, oursSpki, baselineEcdh };
const results = { peculiar: [] };
for (const k of Object.keys(subjects)) results[k] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, f] of Object.entries(subjects))
    results[k].push(measureSync(f, k === 'baseline' || k === 'ours' ? ROUND_MS : ROUND_MS / 2));
  results.peculiar.push(await measure(peculiar, ROUND_MS / 2));
}
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const b = m.baseline;
const line = (label, v) =>
  console.log(
    `${label}: ${v.toFixed(0)} ops/s | baseline raw node:crypto keygen+sign: ${b.toFixed(0)} ops/s | ratio ${(v / b).toFixed(2)}`,
  );
line('x509-svid issue (CA-generated P-256 key + sign + DER cert + PKCS#8)', m.ours);
line('x509-svid issue from a workload SPKI DER (incl. ECDH keygen)', m.oursSpki);
line('x509-svid issue from a workload KeyObject (incl. generateKeyPairSync)', m.oursKeyObject);
line('@peculiar/x509 leaf issue (webcrypto P-256 keygen + build + sign)', m.peculiar);
console.log(
  `(floor with ECDH keygen + sign: ${m.baselineEcdh.toFixed(0)} ops/s; CA-generated issue / that floor: ${(m.ours / m.baselineEcdh).toFixed(2)})`,
);
