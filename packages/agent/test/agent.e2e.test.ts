// End to end: the real wid-agent CLI as a child process, a real Unix socket, and this test process (or another CLI
// child) as the workload.
import type { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtSvid, verifyX509Svid } from '@wid/svid-issuer';
import { createWorkloadApiClient, type WorkloadApiClient } from '@wid/workload-api-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AgentProcess, runCli } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'wid-e2e-'));
const running: AgentProcess[] = [];
const clients: WorkloadApiClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const a of running.splice(0)) a.kill();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
interface ConfigOptions {
  readonly expression?: string;
  readonly id?: string;
  readonly name?: string;
  readonly ttl?: string;
  readonly renewal?: string;
  readonly storage?: string;
}

function configText(sock: string, o: ConfigOptions = {}): string {
  return `version: v2
trust_domain: example.org
${o.storage === undefined ? '' : `storage: { type: directory, path: ${o.storage} }\n`}credential_ttl: ${o.ttl ?? '1h'}
renewal_interval: ${o.renewal ?? '20m'}
services:
  - type: workload-identity-api
    listen: unix://${sock}
    selector: { name: ${o.name ?? 'me'} }
workload_identities:
  - kind: workload_identity
    version: v1
    metadata: { name: ${o.name ?? 'me'} }
    spec:
      rules:
        allow:
          - expression: '${o.expression ?? `workload.unix.uid == ${process.getuid!()}`}'
      spiffe:
        id: ${o.id ?? '/user/{{ workload.unix.uid }}'}
        hint: mine
        x509: { dns_sans: [localhost] }
`;
}

function writeConfig(o: ConfigOptions = {}): { config: string; sock: string; address: string } {
  n += 1;
  const sock = join(dir, `s${n}`, 'agent.sock');
  const config = join(dir, `agent-${n}.yaml`);
  writeFileSync(config, configText(sock, o));
  return { config, sock, address: `unix://${sock}` };
}

async function start(config: string): Promise<AgentProcess> {
  const agent = await AgentProcess.start(config);
  running.push(agent);
  return agent;
}

function client(address: string): WorkloadApiClient {
  const c = createWorkloadApiClient({ address, env: {} });
  clients.push(c);
  return c;
}

const uid = process.getuid!();

describe('wid-agent start (e2e)', () => {
  it('serves an X.509-SVID and a JWT-SVID that another process fetches and verifies', async () => {
    const { config, address } = writeConfig();
    const agent = await start(config);
    // A separate process: the CLI's spiffe-inspect verifies both SVIDs against the served bundles.
    const inspect = await runCli([
      'spiffe-inspect',
      '--path',
      address,
      '--audience',
      'https://api.example.org',
      '--json',
    ]);
    expect(inspect.stderr).toBe('');
    expect(inspect.code).toBe(0);
    const report = JSON.parse(inspect.stdout) as {
      x509Svids: { spiffeId: string; hint: string; dnsSans: string[]; verified: boolean }[];
      jwtSvids: { spiffeId: string; audience: string; verified: boolean }[];
      x509Bundles: { trustDomain: string; authorities: number }[];
      jwtBundles: { trustDomain: string; keyIds: string[] }[];
    };
    expect(report.x509Svids).toEqual([
      expect.objectContaining({
        spiffeId: `spiffe://example.org/user/${uid}`,
        hint: 'mine',
        dnsSans: ['localhost'],
        verified: true,
      }),
    ]);
    expect(report.jwtSvids).toEqual([
      expect.objectContaining({
        spiffeId: `spiffe://example.org/user/${uid}`,
        audience: 'https://api.example.org',
        verified: true,
      }),
    ]);
    expect(report.x509Bundles).toEqual([
      { trustDomain: 'spiffe://example.org', authorities: 1, expiresAt: expect.any(String) },
    ]);
    expect(report.jwtBundles[0]!.keyIds.length).toBeGreaterThan(0);

    // And this test process, as a workload of its own, verifies independently.
    const c = client(address);
    const ctx = await c.fetchX509Context();
    const verified = verifyX509Svid(ctx.defaultSvid().certificates, ctx.bundles);
    expect(verified.id.toString()).toBe(`spiffe://example.org/user/${uid}`);
    const jwt = await c.fetchJwtSvid({ audience: 'aud-1' });
    const validated = JwtSvid.parseAndValidate(jwt.token, await c.fetchJwtBundles(), ['aud-1']);
    expect(validated.id.toString()).toBe(`spiffe://example.org/user/${uid}`);

    // Every issuance is logged with the attestation attributes.
    const audit = await agent.waitForLog(
      (r) => r.msg === 'audit' && (r['audit'] as { svidType?: string })?.svidType === 'x509',
    );
    expect(audit['audit']).toMatchObject({
      spiffeId: `spiffe://example.org/user/${uid}`,
      attributes: { workload: { unix: { attested: true, uid } } },
    });
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });

  it('pushes the renewed SVID on an open stream (short TTL)', async () => {
    const { config, address } = writeConfig({ ttl: '4s', renewal: '2s' });
    await start(config);
    const c = client(address);
    const serials: string[] = [];
    const signal = AbortSignal.timeout(20_000);
    for await (const ctx of c.watchX509Context({ signal })) {
      const svid = ctx.defaultSvid();
      verifyX509Svid(svid.certificates, ctx.bundles);
      const serial = svid.leaf.serialNumber;
      if (!serials.includes(serial)) serials.push(serial);
      if (serials.length >= 2) break;
    }
    expect(serials).toHaveLength(2);
  });

  it('SIGHUP: a broken config is rejected and the old one keeps serving; a valid one is applied', async () => {
    const { config, sock, address } = writeConfig();
    const agent = await start(config);
    const c = client(address);
    expect((await c.fetchX509Context()).defaultSvid().id.toString()).toBe(`spiffe://example.org/user/${uid}`);

    writeFileSync(config, `${configText(sock)}colour: red\n`);
    agent.child.kill('SIGHUP');
    const rejected = await agent.waitForLog(
      (r) => r.msg === 'the new configuration is invalid; the running configuration keeps serving',
    );
    expect(rejected).toMatchObject({ code: 'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY', key: 'colour' });
    const still = await client(address).fetchX509Context();
    expect(still.defaultSvid().id.toString()).toBe(`spiffe://example.org/user/${uid}`);

    // Valid on its own but not applicable without a restart: rejected, the old config keeps serving.
    writeFileSync(config, configText(sock).replace('trust_domain: example.org', 'trust_domain: other.org'));
    agent.child.kill('SIGHUP');
    const refused = await agent.waitForLog((r) => r.msg === 'reload failed; the running configuration keeps serving');
    expect(refused).toMatchObject({ code: 'ERR_WID_AGENT_CONFIG_CONFLICT' });
    expect((await client(address).fetchX509Context()).defaultSvid().id.toString()).toBe(
      `spiffe://example.org/user/${uid}`,
    );

    writeFileSync(config, configText(sock, { name: 'renamed', id: '/reloaded' }));
    agent.child.kill('SIGHUP');
    await agent.waitForLog((r) => r.msg === 'configuration reloaded');
    const after = await client(address).fetchX509Context();
    expect(after.defaultSvid().id.toString()).toBe('spiffe://example.org/reloaded');
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });

  it('SIGHUP: a new socket that cannot be opened changes nothing (old socket and rules keep serving)', async () => {
    const storage = join(dir, 'state-reload-fail');
    const { config, sock, address } = writeConfig({ storage });
    const agent = await start(config);
    expect((await client(address).fetchX509Context()).defaultSvid().id.toString()).toBe(
      `spiffe://example.org/user/${uid}`,
    );

    // The new socket's parent is a regular file: it cannot be opened. The new config also changes the rules.
    const notADir = join(dir, `notadir-${n}`);
    writeFileSync(notADir, 'not a directory\n');
    writeFileSync(config, configText(join(notADir, 'agent.sock'), { storage, id: '/changed' }));
    agent.child.kill('SIGHUP');
    const failed = await agent.waitForLog((r) => r.msg === 'reload failed; the running configuration keeps serving');
    expect(failed).toMatchObject({ code: 'ERR_WID_AGENT_START_FAILED' });
    expect(existsSync(sock)).toBe(true);
    expect((await client(address).fetchX509Context()).defaultSvid().id.toString()).toBe(
      `spiffe://example.org/user/${uid}`,
    );
    expect(agent.logs.some((r) => r.msg === 'workload API closed')).toBe(false);

    // A reload that can be applied still works afterwards: the new socket opens, the old one is closed.
    const moved = join(dir, `moved-${n}`, 'agent.sock');
    writeFileSync(config, configText(moved, { storage, id: '/moved' }));
    agent.child.kill('SIGHUP');
    await agent.waitForLog((r) => r.msg === 'configuration reloaded');
    expect(existsSync(sock)).toBe(false);
    expect((await client(`unix://${moved}`).fetchX509Context()).defaultSvid().id.toString()).toBe(
      'spiffe://example.org/moved',
    );
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    expect(agent.logs.some((r) => r.msg === 'agent stopped')).toBe(true);
  });

  it('SIGHUP: a changed renewal_interval rebuilds the socket with it', async () => {
    const { config, sock, address } = writeConfig({ renewal: '20m' });
    const agent = await start(config);
    const listened = agent.logs.filter((r) => r.msg === 'workload API listening').length;
    writeFileSync(config, configText(sock, { renewal: '10m' }));
    agent.child.kill('SIGHUP');
    expect(await agent.waitForLog((r) => r.msg === 'configuration reloaded')).toMatchObject({ restarted: 1 });
    const listening = agent.logs.filter((r) => r.msg === 'workload API listening');
    expect(listening).toHaveLength(listened + 1);
    expect(listening.map((r) => r.renewal_interval_seconds)).toEqual([1200, 600]);
    expect((await client(address).fetchX509Context()).defaultSvid().id.toString()).toBe(
      `spiffe://example.org/user/${uid}`,
    );
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM ends open streams, removes the socket and exits 0 (a second SIGTERM does not kill it midway)', async () => {
    const { config, sock, address } = writeConfig();
    const agent = await start(config);
    const c = client(address);
    const controller = new AbortController();
    let firstUpdate: () => void = () => {};
    const gotFirst = new Promise<void>((resolve) => {
      firstUpdate = resolve;
    });
    const watching = (async () => {
      for await (const _ of c.watchX509Context({ signal: controller.signal, onError: () => controller.abort() })) {
        firstUpdate();
      }
    })().catch(() => undefined);
    await gotFirst;
    agent.child.kill('SIGTERM');
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(sock)).toBe(false);
    expect(agent.logs.some((r) => r.msg === 'agent stopped')).toBe(true);
    controller.abort();
    await watching;
  });

  it('restart reuses the CA in directory storage: an SVID from before still verifies', async () => {
    const storage = join(dir, 'state-restart');
    const { config, address } = writeConfig({ storage });
    const first = await start(config);
    const before = await client(address).fetchX509Context();
    const oldChain: readonly X509Certificate[] = before.defaultSvid().certificates;
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    const second = await start(config);
    expect(second.logs.some((r) => r.msg === 'loaded the CA from storage')).toBe(true);
    const bundles = await client(address).fetchX509Bundles();
    expect(verifyX509Svid(oldChain, bundles).id.toString()).toBe(`spiffe://example.org/user/${uid}`);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });

  it('answers PermissionDenied to a workload no rule matches, and explain says why', async () => {
    const { config, address } = writeConfig({ expression: 'workload.unix.uid == 424242' });
    await start(config);
    await expect(client(address).fetchX509Context()).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_PERMISSION_DENIED',
    });

    const explained = await runCli(['explain', '-c', config, '--pid', String(process.pid)]);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('NO identity');
    expect(explained.stdout).toContain('workload.unix.uid == 424242');
    expect(explained.stdout).toContain(`${uid}`);
    expect(explained.stdout).toMatch(/not held/);
  });

  it('a bad config starts nothing: exit 1 with a one-line reason naming key and line', async () => {
    const storage = join(dir, 'state-bad');
    const { config, sock } = writeConfig({ storage });
    writeFileSync(
      config,
      configText(sock, { storage }).replace('selector: { name: me }', 'selector: { name: me, labels: { a: [b] } }'),
    );
    const result = await runCli(['start', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/:9:\d+: services\[0\]\.selector\.labels: .*\[ERR_WID_AGENT_CONFIG_CONFLICT\]$/);
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(storage)).toBe(false);
  });
});

describe('wid-agent CLI', () => {
  it('prints help for every command and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['start', '--help'],
      ['spiffe-inspect', '--help'],
      ['explain', '--help'],
      ['install', '--help'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: wid-agent');
    }
  });

  it('rejects unknown commands and options with exit code 2 and one line', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wid-agent: unknown command "frobnicate".*\[ERR_WID_AGENT_USAGE\]\n$/);
    const o = await runCli(['explain', '-c', 'x.yaml', '--pid', 'abc']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('--pid must be a positive integer');
  });

  it('spiffe-inspect fails with one line when nothing listens', async () => {
    const r = await runCli(['spiffe-inspect', '--path', `unix://${join(dir, 'nobody.sock')}`, '--timeout', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^wid-agent: .*\[ERR_WID_CLIENT_[A-Z_]+\]\n$/);
  });

  it('install systemd prints a unit, and --write writes it', async () => {
    const r = await runCli([
      'install',
      'systemd',
      '--user',
      'wid',
      '--group',
      'widgrp',
      '--config',
      '/etc/wid/agent.yaml',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('User=wid\nGroup=widgrp\n');
    expect(r.stdout).toMatch(/ExecStart=\S+ \S+cli\.js start -c \/etc\/wid\/agent\.yaml --log-format json\n/);
    expect(r.stdout).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    const target = join(dir, 'unit', 'wid-agent.service');
    const w = await runCli(['install', 'systemd', '--write', '--unit-path', target]);
    expect(w.code).toBe(0);
    expect(existsSync(target)).toBe(true);
    const bad = await runCli(['install', 'systemd', '--user', 'a b']);
    expect(bad.code).toBe(2);
  });
});
