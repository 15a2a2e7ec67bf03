// The Quick start demo (`pnpm demo`): what a SPIFFE issuer and a relying party each do, in one process.
//   1. A certificate authority for trust domain example.org (self-signed root, EC P-256).
//   2. A workload makes its own key pair; the CA issues an X.509-SVID for its public key only.
//   3. A relying party verifies the chain against the trust bundle (RFC 5280 path validation + SPIFFE leaf rules).
//   4. The same for a JWT-SVID: minted by the CA, validated against the bundle's JWT authorities.
//   5. A forged SVID (from another CA) is refused with a stable error code.
import { generateKeyPairSync } from 'node:crypto';
import { SpiffeId, TrustDomain } from '@wid/spiffe-id';
import { createCertificateAuthority, JwtSvid, verifyX509Svid } from '@wid/svid-issuer';

const trustDomain = TrustDomain.parse('example.org');
const ca = createCertificateAuthority({ trustDomain, keyType: 'ec-p256', caTtlSeconds: 7 * 24 * 3600 });
const bundle = ca.bundle();
console.log(
  `CA for ${trustDomain.idString()}: bundle sequence ${bundle.sequence}, ${bundle.x509Authorities().length} X.509 authority, ${bundle.jwtAuthorities().size} JWT key`,
);

const workloadKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const id = SpiffeId.fromSegments(trustDomain, 'ns', 'prod', 'sa', 'web');
const svid = ca.issueX509Svid({
  spiffeId: id,
  publicKey: workloadKey.publicKey,
  ttlSeconds: 3600,
  dnsSans: ['web.prod.svc'],
});
const leaf = svid.certificates[0];
console.log(`\nX.509-SVID issued for ${svid.id}`);
console.log(`  subject alt names: ${leaf.subjectAltName}`);
console.log(
  `  valid ${svid.notBefore.toISOString()} .. ${svid.notAfter.toISOString()}${svid.clamped ? ' (clamped to the CA expiry)' : ''}`,
);
console.log(`  serial ${leaf.serialNumber}, signed by authority ${svid.authorityId}`);

const verified = verifyX509Svid(svid.certificates, bundle);
console.log(`  verified against the bundle: ${verified.id} (chain of ${verified.verifiedChains[0].length})`);

const audience = 'spiffe://example.org/api';
const jwt = ca.issueJwtSvid({ spiffeId: id, audience: [audience], ttlSeconds: 300 });
const validated = JwtSvid.parseAndValidate(jwt.token, bundle, [audience]);
console.log(`\nJWT-SVID issued: ${jwt.token.slice(0, 40)}... (${jwt.token.length} bytes)`);
console.log(
  `  validated: sub=${validated.id} aud=${validated.audience.join(',')} exp=${validated.expiry.toISOString()}`,
);

const rogue = createCertificateAuthority({ trustDomain });
const forged = rogue.issueX509Svid({ spiffeId: id, publicKey: workloadKey.publicKey });
try {
  verifyX509Svid(forged.certificates, bundle);
  console.error('\nFAIL: a certificate from another CA verified');
  process.exit(1);
} catch (e) {
  console.log(`\nAn SVID from a rogue CA is refused: ${e.code}: ${e.message}`);
}
