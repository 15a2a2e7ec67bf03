// The agent in-process: failures midway close what was already built.

import { createAgent, parseAgentConfig } from '@wid/agent';
import type { WorkloadAttestor } from '@wid/workload-api-server';
import { describe, expect, it } from 'vitest';

const IDENTITY = `workload_identities:
  - kind: workload_identity
    version: v1
    metadata: { name: me }
    spec:
      rules:
        allow:
          - expression: 'workload.unix.attested'
      spiffe: { id: /me }
`;

function service(listen: string): string {
  return `  - type: workload-identity-api
    listen: ${listen}
    selector: { name: me }
    attestors:
      kubernetes: { enabled: true }
`;
}

describe('createAgent', () => {
  it('closes the attestors already built when building a later service’s attestors fails', async () => {
    const config = parseAgentConfig(
      `version: v2\ntrust_domain: example.org\nservices:\n${service('unix:///nonexistent/a.sock')}${service('unix:///nonexistent/b.sock')}${IDENTITY}`,
      { source: 'agent.yaml', baseDir: '/etc/wid' },
    );
    const closed: string[] = [];
    let built = 0;
    const agent = createAgent(config, {
      createKubernetesAttestor: () => {
        built += 1;
        if (built === 2) throw new Error('no kubelet here');
        const name = `kubernetes#${built}`;
        return {
          name: 'kubernetes',
          attest: async () => ({}),
          close: async () => {
            closed.push(name);
          },
        } as WorkloadAttestor;
      },
    });
    await expect(agent.start()).rejects.toMatchObject({
      code: 'ERR_WID_AGENT_ATTESTOR_UNAVAILABLE',
      key: 'services[1].attestors.kubernetes',
    });
    expect(built).toBe(2);
    expect(closed).toEqual(['kubernetes#1']);
    expect(agent.listening).toEqual([]);
  });
});
