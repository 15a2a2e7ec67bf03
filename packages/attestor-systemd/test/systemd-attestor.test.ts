import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTEST_SYSTEMD_ERROR_CODES, createSystemdAttestor, SystemdAttestorError } from '@wid/attestor-systemd';
import { isWidError } from '@wid/spiffe-id';
import { afterAll, describe, expect, it } from 'vitest';

const procRoot = fileURLToPath(new URL('./fixtures/proc', import.meta.url));

async function rejection(p: Promise<unknown>): Promise<SystemdAttestorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SystemdAttestorError);
    return e as SystemdAttestorError;
  }
  throw new Error('expected a rejection');
}

describe('createSystemdAttestor', () => {
  const systemd = createSystemdAttestor({ procRoot });
  const tmp = mkdtempSync(join(tmpdir(), 'wid-systemd-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is named systemd and satisfies the WorkloadAttestor shape', () => {
    expect(systemd.name).toBe('systemd');
    expect(typeof systemd.attest).toBe('function');
    expect(Object.isFrozen(systemd)).toBe(true);
  });

  it('returns the service of a cgroup v2 process', async () => {
    expect(await systemd.attest(100)).toEqual({ service: 'nginx' });
  });

  it('returns the service of a cgroup v1 process', async () => {
    expect(await systemd.attest(200)).toEqual({ service: 'ssh' });
  });

  it('reports a user-manager unit apart from the system unit', async () => {
    expect(await systemd.attest(800)).toEqual({ service: 'user@1000', user_service: 'web' });
  });

  it('fails soft with reason scope for a session process', async () => {
    const e = await rejection(systemd.attest(300));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_SYSTEMD_NO_UNIT',
      reason: 'scope',
      unit: 'session-3.scope',
      pid: 300,
      cgroupPath: '/user.slice/user-1000.slice/session-3.scope',
    });
    expect(isWidError(e, 'ERR_WID_ATTEST_SYSTEMD_NO_UNIT')).toBe(true);
    expect(e.message).toContain('session-3.scope');
  });

  it('logs the reason at debug level when there is no service', async () => {
    const lines: unknown[] = [];
    const noop = () => {};
    const logged = createSystemdAttestor({
      procRoot,
      logger: { debug: (obj) => lines.push(obj), info: noop, warn: noop, error: noop },
    });
    await rejection(logged.attest(300));
    expect(lines).toEqual([expect.objectContaining({ pid: 300, reason: 'scope' })]);
  });

  it('rejects binary garbage in the cgroup file as malformed', async () => {
    const e = await rejection(systemd.attest(400));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED', pid: 400 });
    expect(e.file).toBe(join(procRoot, '400', 'cgroup'));
    expect(e.message).toContain('binary');
  });

  it('rejects a truncated cgroup file as malformed', async () => {
    const e = await rejection(systemd.attest(500));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED', line: '11:pids:/system.slice/ssh.serv' });
    expect(e.message).toContain('truncated');
  });

  it('rejects a missing cgroup file of a live process as malformed', async () => {
    const e = await rejection(systemd.attest(600));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED', pid: 600 });
    expect(e.message).toContain('missing');
  });

  it('reports a process whose /proc directory is gone', async () => {
    const e = await rejection(systemd.attest(999_999));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROCESS_GONE', pid: 999_999, errno: 'ENOENT' });
  });

  it('reports an unreadable cgroup file with its errno', async () => {
    const e = await rejection(systemd.attest(700));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROC_UNREADABLE', pid: 700, errno: 'EISDIR' });
  });

  it('refuses a cgroup file over maxProcFileBytes without reading it all', async () => {
    mkdirSync(join(tmp, '42'));
    writeFileSync(join(tmp, '42', 'cgroup'), `0::/system.slice/${'a'.repeat(300_000)}.service\n`);
    const small = createSystemdAttestor({ procRoot: tmp, maxProcFileBytes: 4096 });
    const e = await rejection(small.attest(42));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED', pid: 42 });
    expect(e.message).toContain('4096-byte limit');
    // Exactly at the limit is accepted.
    mkdirSync(join(tmp, '43'));
    const exact = '0::/system.slice/x.service\n';
    writeFileSync(join(tmp, '43', 'cgroup'), exact);
    expect(await createSystemdAttestor({ procRoot: tmp, maxProcFileBytes: exact.length }).attest(43)).toEqual({
      service: 'x',
    });
  });

  it('rejects a PID that is not a positive integer', async () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      const e = await rejection(systemd.attest(pid));
      expect(e.code).toBe('ERR_WID_ATTEST_SYSTEMD_BAD_PID');
    }
  });

  it('rejects with ABORTED when the signal is already aborted', async () => {
    const e = await rejection(systemd.attest(100, AbortSignal.abort(new Error('stop'))));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_SYSTEMD_ABORTED', pid: 100 });
  });

  it('validates its options, naming the key', () => {
    const bad: [string, object][] = [
      ['procRoot', { procRoot: '' }],
      ['maxProcFileBytes', { maxProcFileBytes: 0 }],
      ['maxProcFileBytes', { maxProcFileBytes: '1k' }],
      ['logger', { logger: { debug() {} } }],
    ];
    for (const [key, options] of bad) {
      expect(() => createSystemdAttestor(options)).toThrow(
        expect.objectContaining({ code: 'ERR_WID_ATTEST_SYSTEMD_BAD_OPTION', key }),
      );
    }
  });
});

describe('ATTEST_SYSTEMD_ERROR_CODES', () => {
  it('documents every code with the package prefix and a non-empty hint', () => {
    for (const [code, hint] of Object.entries(ATTEST_SYSTEMD_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_WID_ATTEST_SYSTEMD_[A-Z_]+$/);
      expect(hint.length).toBeGreaterThan(10);
    }
  });
});
