import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUnixAttestor } from '@wid/attestor-unix';
import { createCertificateAuthority } from '@wid/svid-issuer';
import { createWorkloadApiServer, type WorkloadApiServer } from '@wid/workload-api-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaIdentitySource,
  createCaIdentitySource,
  uidIs,
} from '../packages/workload-api-client/test/support/ca-identity-source.js';
import { type LineChild, spawnLineChild } from '../packages/workload-api-client/test/support/child-process.js';

// Interop with the reference client: go-spiffe v2's workloadapi package (interop/go/main.go) talks to our
// createWorkloadApiServer and checks what it gets with go-spiffe's own x509svid.Verify and jwtsvid.ParseAndValidate.
// Go is required: without `go` on PATH this test fails rather than skips (CI has Go).

const goDir = fileURLToPath(new URL('./go/', import.meta.url));
const binary = join(goDir, 'bin', 'interop');
const WEB = 'spiffe://example.org/web';
const AUDIENCE = 'spiffe://example.org/api';

const dir = mkdtempSync(join(tmpdir(), 'wid-interop-go-'));
let server: WorkloadApiServer;
let source: CaIdentitySource;
let address: string;
let child: LineChild | undefined;

/** Builds interop/go into interop/go/bin (gitignored); throws when Go is missing, so the test fails, not skips. */
function buildGoProgram(): void {
  let goVersion: string;
  try {
    goVersion = execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch (cause) {
    throw new Error('the go-spiffe interop test needs Go on PATH (https://go.dev/dl/); it does not skip', { cause });
  }
  // -mod=readonly: build from the committed go.mod/go.sum, never rewrite them. Modules come from the Go module proxy
  // (or the module cache); a cold build takes about 45 s.
  const started = performance.now();
  execFileSync('go', ['build', '-mod=readonly', '-buildvcs=false', '-o', binary, '.'], {
    cwd: goDir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  console.log(`${goVersion}: built interop/go in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

beforeAll(async () => {
  source = createCaIdentitySource({
    trustDomain: 'example.org',
    identities: [{ spiffeId: WEB, hint: 'web', match: uidIs(process.getuid!()) }],
    federated: [createCertificateAuthority({ trustDomain: 'partner.org' })],
  });
  address = `unix://${join(dir, 'agent.sock')}`;
  server = createWorkloadApiServer({ listen: address, attestors: [createUnixAttestor()], identities: source });
  await server.listen();
});

afterAll(async () => {
  child?.kill();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('go-spiffe v2 workloadapi client', () => {
  it('fetches and verifies X.509 and JWT SVIDs from our server and sees one rotation', async () => {
    buildGoProgram();
    child = spawnLineChild(binary, ['-audience', AUDIENCE], {
      PATH: process.env['PATH'],
      SPIFFE_ENDPOINT_SOCKET: address,
    });

    const x509 = await child.waitFor('x509-context');
    expect(x509).toMatchObject({
      spiffe_id: WEB,
      hint: 'web',
      svid_ids: [WEB],
      verified_id: WEB, // x509svid.Verify against the fetched bundles
      chains: 1,
      trust_domains: ['example.org', 'partner.org'],
    });
    expect(await child.waitFor('x509-bundles')).toMatchObject({ trust_domains: ['example.org', 'partner.org'] });

    const jwt = await child.waitFor('jwt-svid');
    expect(jwt).toMatchObject({
      spiffe_id: WEB,
      audience: [AUDIENCE],
      validated_id: WEB, // jwtsvid.ParseAndValidate against the fetched JWT bundles
      trust_domains: ['example.org', 'partner.org'],
      wrong_audience_rejected: true,
    });
    const validated = await child.waitFor('jwt-validate');
    expect(validated).toMatchObject({ spiffe_id: WEB, claims_sub: WEB });
    expect(validated['wrong_audience_error']).toMatch(/InvalidArgument/);

    const first = await child.waitFor('watch-update');
    expect(first).toMatchObject({ n: 1, verified_id: WEB });
    await source.waitForOpenX509Watches(1);
    const streamsBefore = source.stats.x509Watches;
    source.rotate();
    const second = await child.waitFor((l) => l.event === 'watch-update' && l['serial'] !== first['serial']);
    expect(second).toMatchObject({ spiffe_id: WEB, verified_id: WEB });
    expect(source.stats.x509Watches).toBe(streamsBefore); // delivered on the open stream
    await child.waitFor('done');
    const exit = await child.exited();
    expect(exit.code, exit.stderr).toBe(0);
    expect(child.lines.filter((l) => l.event === 'error' || l.event === 'watch-error')).toEqual([]);
  }, 300_000);
});
