// JWT-SVID mint and validate (ES256) against raw node:crypto ES256 sign/verify measured in the same run, interleaved
// over several rounds (medians). jose's figures are printed too: they are why minting/validation use a direct
// node:crypto JWS. Target: ratio ≥ 0.8. Run after `tsc -b packages/svid-issuer` (imports the built package).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { JwtBundle, JwtSvid, signJwtSvid } from '@wid/svid-issuer';
import { jwtVerify, SignJWT } from 'jose';

const ROUNDS = 7;
const SLICE_MS = 250;
const TARGET = 0.8;

// wid gets the keys straight from generateKeyPairSync (it copies a caller's key from DER before inspecting it).
// jose reads asymmetricKeyDetails, which can deadlock Node 20 on such a key while a GC finalizes its generation job,
// so jose gets DER-re-imported copies.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const josePrivateKey = createPrivateKey({
  key: privateKey.export({ type: 'pkcs8', format: 'der' }),
  format: 'der',
  type: 'pkcs8',
});
const josePublicKey = createPublicKey({
  key: publicKey.export({ type: 'spki', format: 'der' }),
  format: 'der',
  type: 'spki',
});
const now = new Date();
const aud = 'spiffe://example.org/api';
const spiffeId = 'spiffe://example.org/ns/default/sa/web';
const bundle = JwtBundle.fromJwtAuthorities('example.org', new Map([['k1', publicKey]]));
const mintOptions = { privateKey, kid: 'k1', spiffeId, audience: [aud], ttlSeconds: 300, now };
const token = signJwtSvid(mintOptions).token;
const signingInput = Buffer.from(token.slice(0, token.lastIndexOf('.')));
const rawSig = sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
const verifyKey = { key: publicKey, dsaEncoding: 'ieee-p1363' };
const joseToken = await new SignJWT({ sub: spiffeId, aud: [aud] })
  .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
  .setIssuedAt()
  .setExpirationTime('5m')
  .sign(josePrivateKey);

const subjects = {
  rawSign: () => sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  rawVerify: () => {
    if (!verify('sha256', signingInput, verifyKey, rawSig)) throw new Error('raw verify failed');
  },
  mint: () => signJwtSvid(mintOptions),
  validate: () => JwtSvid.parseAndValidate(token, bundle, [aud], { now }),
  joseSign: () =>
    new SignJWT({ sub: spiffeId, aud: [aud] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(josePrivateKey),
  joseVerify: () => jwtVerify(joseToken, josePublicKey, { audience: aud }),
};

async function opsPerSecond(fn) {
  globalThis.gc?.();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < SLICE_MS) {
    for (let i = 0; i < 64; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
    }
    n += 64;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// Warm up every path (JIT, OpenSSL contexts) before measuring.
for (const fn of Object.values(subjects)) for (let i = 0; i < 300; i++) await fn();

const results = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round so no subject always runs first or last.
  const names = Object.keys(subjects);
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
  for (const name of order) results[name].push(await opsPerSecond(subjects[name]));
}
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(7);
const line = (label, subject, baseLabel, base) =>
  `${label}: ${fmt(subject)} ops/s | baseline ${baseLabel}: ${fmt(base)} ops/s | ratio ${(subject / base).toFixed(2)}`;

console.log(line('jwt-svid mint ES256 (wid, node:crypto JWS)', m.mint, 'raw node:crypto ES256 sign', m.rawSign));
console.log(
  line('jwt-svid validate ES256 (wid, node:crypto JWS)', m.validate, 'raw node:crypto ES256 verify', m.rawVerify),
);
console.log(line('jose SignJWT ES256 (for reference)', m.joseSign, 'raw node:crypto ES256 sign', m.rawSign));
console.log(line('jose jwtVerify ES256 (for reference)', m.joseVerify, 'raw node:crypto ES256 verify', m.rawVerify));
const mintOk = m.mint / m.rawSign >= TARGET;
const validateOk = m.validate / m.rawVerify >= TARGET;
console.log(
  `target ratio ≥ ${TARGET}: mint ${mintOk ? 'met' : 'NOT met'}, validate ${validateOk ? 'met' : 'NOT met'} ` +
    `(${ROUNDS} rounds × ${SLICE_MS} ms each, medians)`,
);
