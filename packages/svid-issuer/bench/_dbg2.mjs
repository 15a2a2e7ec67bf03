// X.509-SVID issuance: a new EC P-256 workload key + a signed, DER-encoded SVID from wid's CA, against a same-run
// baseline of the raw node:crypto floor (P-256 key generation + one ECDSA P-256 signature over a TBS-sized
// buffer). Also prints what @peculiar/x509 achieves for the same leaf (the reason the hot path is hand-written
// DER). Rounds are interleaved; figures are medians. Run `corepack pnpm exec tsc -b packages/svid-issuer` first.
import 'reflect-metadata';
import { generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createCertificateAuthority } from '@wid/svid-issuer';

const ROUNDS = 1;
const ROUND_MS = 1000;

const ca = createCertificateAuthority({ trustDomain: 'example.org' });
const id = 'spiffe://example.org/ns/default/sa/web';

function ours() {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return ca.issueX509Svid({ spiffeId: id, publicKey }).certificatesDer[0];
}

const baselineKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const tbsSized = Buffer.from(ours().subarray(4, 4 + 420));
function baseline() {
  generateKeyPairSync('ec', { namedCurve: 'P-256' });
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

console.log("setup done");
measureSync(ours, 200);
measureSync(baseline, 200);
await measure(peculiar, 200);

const results = { ours: [], baseline: [], peculiar: [] };
for (let r = 0; r < ROUNDS; r++) {
  results.baseline.push(measureSync(baseline, ROUND_MS));
  results.ours.push(measureSync(ours, ROUND_MS));
  results.peculiar.push(await measure(peculiar, ROUND_MS / 2));
}
const o = median(results.ours);
const b = median(results.baseline);
const p = median(results.peculiar);
console.log(
  `x509-svid issue (new P-256 key + sign + DER): ${o.toFixed(0)} ops/s | baseline raw node:crypto keygen+sign: ${b.toFixed(0)} ops/s | ratio ${(o / b).toFixed(2)}`,
);
console.log(
  `@peculiar/x509 leaf issue (new P-256 key + build + sign): ${p.toFixed(0)} ops/s | baseline ${b.toFixed(0)} ops/s | ratio ${(p / b).toFixed(3)}`,
);
