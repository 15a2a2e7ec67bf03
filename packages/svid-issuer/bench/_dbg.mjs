import { createCertificateAuthority } from '@wid/svid-issuer';
import { generateKeyPairSync } from 'node:crypto';
console.time('ca');
const ca = createCertificateAuthority({ trustDomain: 'example.org' });
console.timeEnd('ca');
console.time('issue100');
for (let i=0;i<100;i++){ const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }); ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey }); }
console.timeEnd('issue100');
