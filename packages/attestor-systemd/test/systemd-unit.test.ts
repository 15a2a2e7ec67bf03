import { readFileSync } from 'node:fs';
import { SystemdAttestorError, systemdUnitFromCgroup } from '@wid/attestor-systemd';
import { describe, expect, it } from 'vitest';

interface Case {
  name: string;
  cgroup: string;
  attributes?: { service: string; user_service?: string };
  noUnit?: { reason: string; unit?: string };
  malformed?: boolean;
}

const cases: Case[] = JSON.parse(readFileSync(new URL('./fixtures/cgroup-cases.json', import.meta.url), 'utf8'));

describe('systemdUnitFromCgroup', () => {
  for (const c of cases.filter((c) => c.attributes)) {
    it(`finds the unit: ${c.name}`, () => {
      const r = systemdUnitFromCgroup(c.cgroup);
      expect(r.found).toBe(true);
      if (!r.found) return;
      expect(r.unit).toBe(`${c.attributes!.service}.service`);
      if (c.attributes!.user_service !== undefined) expect(r.userUnit).toBe(`${c.attributes!.user_service}.service`);
    });
  }

  for (const c of cases.filter((c) => c.noUnit)) {
    it(`reports no service (${c.noUnit!.reason}): ${c.name}`, () => {
      const r = systemdUnitFromCgroup(c.cgroup);
      expect(r.found).toBe(false);
      if (r.found) return;
      expect(r.reason).toBe(c.noUnit!.reason);
      expect(r.unit).toBe(c.noUnit!.unit);
    });
  }

  for (const c of cases.filter((c) => c.malformed)) {
    it(`rejects malformed input: ${c.name}`, () => {
      let error: unknown;
      try {
        systemdUnitFromCgroup(c.cgroup, { pid: 9, file: '/proc/9/cgroup' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SystemdAttestorError);
      expect(error).toMatchObject({
        code: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED',
        pid: 9,
        file: '/proc/9/cgroup',
        attestor: 'systemd',
      });
    });
  }

  it('names the offending line of a malformed file', () => {
    expect(() => systemdUnitFromCgroup('0::/a.service\nnot a cgroup line\n')).toThrow(
      expect.objectContaining({ line: 'not a cgroup line' }),
    );
  });

  it('reports the cgroup path it read the unit from', () => {
    const r = systemdUnitFromCgroup('1:name=systemd:/system.slice/a.service\n0::/system.slice/a.service\n');
    expect(r).toEqual({ found: true, cgroupPath: '/system.slice/a.service', unit: 'a.service' });
  });

  it('rejects unit names of 256 characters or more, as systemd does', () => {
    const long = `${'a'.repeat(248)}.service`; // 256 characters
    expect(systemdUnitFromCgroup(`0::/system.slice/${long}\n`)).toMatchObject({ found: false, reason: 'no-unit' });
    const ok = `${'a'.repeat(247)}.service`;
    expect(systemdUnitFromCgroup(`0::/system.slice/${ok}\n`)).toMatchObject({ found: true, unit: ok });
  });

  it('does not take a user unit that would impersonate a system service as the service', () => {
    const r = systemdUnitFromCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/sshd.service\n');
    expect(r).toMatchObject({ found: true, unit: 'user@1000.service', userUnit: 'sshd.service' });
  });
});
