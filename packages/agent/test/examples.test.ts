import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseAgentConfig } from '../src/index.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

describe('shipped example configs', () => {
  it('the Kubernetes DaemonSet ConfigMap holds a valid agent config with the kubernetes attestor', () => {
    const docs = parseAllDocuments(readFileSync(`${examples}kubernetes/wid-agent.yaml`, 'utf8')).map((d) => d.toJS());
    const configMap = docs.find((d) => d?.kind === 'ConfigMap');
    const text = configMap?.data?.['agent.yaml'] as string;
    expect(typeof text).toBe('string');
    const config = parseAgentConfig(text, { source: 'wid-agent.yaml#agent.yaml', baseDir: '/etc/wid' });
    expect(config.trustDomain.toString()).toBe('example.org');
    expect(config.services).toHaveLength(1);
    expect(config.services[0]!.attestors.kubernetes.enabled).toBe(true);
    expect(config.services[0]!.attestors.kubernetes.kubelet.securePort).toBe(10250);
    // The DaemonSet gives the attestor its node name and the host PID namespace it needs.
    const ds = docs.find((d) => d?.kind === 'DaemonSet');
    expect(ds.spec.template.spec.hostPID).toBe(true);
    expect(ds.spec.template.spec.containers[0].env).toContainEqual({
      name: 'WID_NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
  });

  it('the standalone example parses', () => {
    const path = `${examples}agent-standalone/agent.yaml`;
    const config = parseAgentConfig(readFileSync(path, 'utf8'), {
      source: path,
      baseDir: `${examples}agent-standalone`,
    });
    expect(config.services[0]!.listen).toMatch(/^unix:\/\/\/.*\/\.wid\/run\/agent\.sock$/);
  });
});
