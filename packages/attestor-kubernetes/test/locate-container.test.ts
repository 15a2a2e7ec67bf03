import { readFileSync } from 'node:fs';
import { KubernetesAttestorError, locateContainer } from '@wid/attestor-kubernetes';
import { describe, expect, it } from 'vitest';

interface Case {
  name: string;
  cgroup: string;
  mountinfo?: string;
  expected?: { podUid?: string; containerId?: string };
  error?: string;
  field?: 'podUid' | 'containerId';
  value?: string;
}

const cases: Case[] = JSON.parse(readFileSync(new URL('./fixtures/locate-cases.json', import.meta.url), 'utf8'));

describe('locateContainer', () => {
  for (const c of cases.filter((c) => c.expected)) {
    it(`locates: ${c.name}`, () => {
      const input = c.mountinfo === undefined ? { cgroup: c.cgroup } : { cgroup: c.cgroup, mountinfo: c.mountinfo };
      expect(locateContainer(input)).toEqual(c.expected);
    });
  }

  for (const c of cases.filter((c) => c.error)) {
    it(`rejects: ${c.name}`, () => {
      let error: unknown;
      try {
        locateContainer(
          c.mountinfo === undefined ? { cgroup: c.cgroup } : { cgroup: c.cgroup, mountinfo: c.mountinfo },
          { pid: 77, cgroupFile: '/proc/77/cgroup', mountinfoFile: '/proc/77/mountinfo' },
        );
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KubernetesAttestorError);
      const e = error as KubernetesAttestorError;
      expect(e.code).toBe(c.error);
      expect(e.pid).toBe(77);
      expect(e.attestor).toBe('kubernetes');
      expect(e.file).toBe(c.mountinfo === undefined ? '/proc/77/cgroup' : '/proc/77/mountinfo');
      if (c.field) expect(e[c.field]).toBe(c.value);
    });
  }

  it('names the offending line of a malformed cgroup file', () => {
    expect(() => locateContainer({ cgroup: '0::/\nnonsense\n' })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED', line: 'nonsense' }),
    );
  });

  it('ignores the mountinfo when the cgroup file names a pod but no container', () => {
    const podOnly = '0::/kubepods/burstable/pod7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c\n';
    expect(locateContainer({ cgroup: podOnly, mountinfo: 'garbage that would be rejected\n' })).toEqual({
      podUid: '7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c',
    });
  });

  it('does not take a 63-digit or uppercase ID as a container ID', () => {
    const pod = '0::/kubepods/burstable/pod7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c';
    expect(locateContainer({ cgroup: `${pod}/${'a'.repeat(63)}\n` })).toEqual({
      podUid: '7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c',
    });
    expect(locateContainer({ cgroup: `${pod}/${'A'.repeat(64)}\n` }).containerId).toBeUndefined();
  });
});
