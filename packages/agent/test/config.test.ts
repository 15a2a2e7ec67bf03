import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError, loadAgentConfig, parseAgentConfig } from '@wid/agent';
import { afterAll, describe, expect, it } from 'vitest';

const IDENTITY = `workload_identities:
  - kind: workload_identity
    version: v1
    metadata: { name: web, labels: { env: prod } }
    spec:
      rules:
        allow:
          - expression: 'workload.unix.uid == 1000'
      spiffe: { id: /web }
`;

const BASE = `version: v2
trust_domain: example.org
services:
  - type: workload-identity-api
    listen: unix:///run/wid/agent.sock
    selector: { name: web }
${IDENTITY}`;

function parse(text: string) {
  return parseAgentConfig(text, { source: 'agent.yaml', baseDir: '/etc/wid' });
}

function failure(text: string): AgentError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseAgentConfig', () => {
  it('accepts a standalone config and fills in defaults', () => {
    const c = parse(BASE);
    expect(c.mode).toBe('standalone');
    expect(c.trustDomain.name).toBe('example.org');
    expect(c.storage).toEqual({ type: 'memory' });
    expect(c.credentialTtlSeconds).toBe(3600);
    expect(c.renewalIntervalSeconds).toBe(1200);
    expect(c.services).toHaveLength(1);
    expect(c.services[0]!.listen).toBe('unix:///run/wid/agent.sock');
    expect(c.services[0]!.selector).toEqual({ names: ['web'] });
    expect(c.services[0]!.attestors.kubernetes.enabled).toBe(false);
    expect(c.identities.names()).toEqual(['web']);
  });

  it('resolves relative paths against baseDir and reads tbot attestor keys', () => {
    const c = parse(`version: v2
trust_domain: example.org
storage: { type: directory, path: ./data, symlinks: try-secure, acls: try }
credential_ttl: 30m
services:
  - type: workload-identity-api
    listen: unix:run/agent.sock
    credential_ttl: 10m
    renewal_interval: 2m
    selector:
      labels: { env: [prod, staging] }
    attestors:
      unix: { binary_hash_max_size_bytes: 1024 }
      systemd: { enabled: true }
      kubernetes:
        enabled: true
        kubelet: { secure_port: 10250, token_path: /var/run/token, skip_verify: false }
${IDENTITY}`);
    expect(c.storage).toEqual({ type: 'directory', path: '/etc/wid/data' });
    expect(c.credentialTtlSeconds).toBe(1800);
    expect(c.renewalIntervalSeconds).toBe(900);
    const s = c.services[0]!;
    expect(s.listen).toBe('unix:///etc/wid/run/agent.sock');
    expect(s.listenAsWritten).toBe('unix:run/agent.sock');
    expect(s.credentialTtlSeconds).toBe(600);
    expect(s.renewalIntervalSeconds).toBe(120);
    expect(s.selector).toEqual({ labelSelectors: { env: ['prod', 'staging'] } });
    expect(s.attestors.unix.binaryHashMaxSizeBytes).toBe(1024);
    expect(s.attestors.systemd.enabled).toBe(true);
    expect(s.attestors.kubernetes).toEqual({
      enabled: true,
      kubelet: {
        securePort: 10250,
        readOnlyPort: undefined,
        tokenPath: '/var/run/token',
        caPath: undefined,
        skipVerify: false,
        anonymous: false,
      },
    });
  });

  it('translates spiffe-workload-api svids into resources selected by name', () => {
    const c = parse(`version: v2
trust_domain: example.org
services:
  - type: spiffe-workload-api
    listen: unix:///run/wid/legacy.sock
    svids:
      - path: /svc/foo
        hint: foo
        sans: { dns: [foo.svc] }
        rules:
          - unix: { uid: 1000 }
`);
    expect(c.services[0]!.selector).toEqual({ names: ['services-0-svid-0'] });
    expect(c.identities.get('services-0-svid-0')?.resource.spec.spiffe.id).toBe('/svc/foo');
  });

  // Each kind of error: code, key and line.
  const cases: { name: string; text: string; code: string; key: string | undefined; line: number | undefined }[] = [
    {
      name: 'an unknown top-level key',
      text: BASE.replace('trust_domain:', 'trust_domian: x\ntrust_domain:'),
      code: 'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY',
      key: 'trust_domian',
      line: 2,
    },
    {
      name: 'an unknown key in a service',
      text: BASE.replace('    selector: { name: web }', '    selector: { name: web }\n    listen_addr: x'),
      code: 'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY',
      key: 'services[0].listen_addr',
      line: 7,
    },
    {
      name: 'an unknown key in an attestor block',
      text: BASE.replace(
        '    selector: { name: web }',
        '    selector: { name: web }\n    attestors:\n      unix: { hash: 1 }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY',
      key: 'services[0].attestors.unix.hash',
      line: 8,
    },
    {
      name: 'a missing version',
      text: BASE.replace('version: v2\n', ''),
      code: 'ERR_WID_AGENT_CONFIG_MISSING_KEY',
      key: 'version',
      line: 1,
    },
    {
      name: 'a wrong version',
      text: BASE.replace('version: v2', 'version: v1'),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'version',
      line: 1,
    },
    {
      name: 'a missing trust_domain',
      text: BASE.replace('trust_domain: example.org\n', ''),
      code: 'ERR_WID_AGENT_CONFIG_MISSING_KEY',
      key: 'trust_domain',
      line: 1,
    },
    {
      name: 'an invalid trust domain',
      text: BASE.replace('example.org', 'Example.org'),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'trust_domain',
      line: 2,
    },
    {
      name: 'a wrong type (listen is a number)',
      text: BASE.replace('listen: unix:///run/wid/agent.sock', 'listen: 8080'),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'services[0].listen',
      line: 5,
    },
    {
      name: 'a wrong type (services is a map)',
      text: 'version: v2\ntrust_domain: example.org\nservices: { type: x }\n',
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'services',
      line: 3,
    },
    {
      name: 'a wrong type (boolean given as a string)',
      text: BASE.replace(
        '    selector: { name: web }',
        '    selector: { name: web }\n    attestors:\n      systemd: { enabled: "yes" }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'services[0].attestors.systemd.enabled',
      line: 8,
    },
    {
      name: 'a bad duration',
      text: BASE.replace('trust_domain: example.org', 'trust_domain: example.org\ncredential_ttl: 1d'),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'credential_ttl',
      line: 3,
    },
    {
      name: 'a listen address with an authority',
      text: BASE.replace('unix:///run/wid/agent.sock', 'unix://host/run/agent.sock'),
      code: 'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      key: 'services[0].listen',
      line: 5,
    },
    {
      name: 'kubernetes_secret storage in standalone mode',
      text: BASE.replace(
        'trust_domain: example.org',
        'trust_domain: example.org\nstorage:\n  type: kubernetes_secret\n  name: wid',
      ),
      code: 'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
      key: 'storage.type',
      line: 4,
    },
    {
      name: 'joined mode (auth_server)',
      text: BASE.replace('trust_domain: example.org', 'trust_domain: example.org\nauth_server: auth.example.org:443'),
      code: 'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
      key: 'auth_server',
      line: 3,
    },
    {
      name: 'an unsupported service type',
      text: BASE.replace('type: workload-identity-api', 'type: ssh-multiplexer'),
      code: 'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
      key: 'services[0].type',
      line: 4,
    },
    {
      name: 'an unsupported attestor (docker)',
      text: BASE.replace(
        '    selector: { name: web }',
        '    selector: { name: web }\n    attestors:\n      docker: { enabled: true }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
      key: 'services[0].attestors.docker',
      line: 8,
    },
    {
      name: 'selector with both name and labels',
      text: BASE.replace('selector: { name: web }', 'selector: { name: web, labels: { env: [prod] } }'),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'services[0].selector.labels',
      line: 6,
    },
    {
      name: 'a missing selector',
      text: BASE.replace('    selector: { name: web }\n', ''),
      code: 'ERR_WID_AGENT_CONFIG_MISSING_KEY',
      key: 'services[0].selector',
      line: 4,
    },
    {
      name: 'a selector naming no workload identity',
      text: BASE.replace('selector: { name: web }', 'selector: { name: api }'),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'services[0].selector.name',
      line: 6,
    },
    {
      name: 'label selectors that select nothing',
      text: BASE.replace('selector: { name: web }', 'selector: { labels: { env: [dev] } }'),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'services[0].selector.labels',
      line: 6,
    },
    {
      name: 'renewal_interval not shorter than credential_ttl',
      text: BASE.replace(
        'trust_domain: example.org',
        'trust_domain: example.org\ncredential_ttl: 10m\nrenewal_interval: 10m',
      ),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'renewal_interval',
      line: 4,
    },
    {
      name: 'two services on one socket',
      text: BASE.replace(
        '    selector: { name: web }',
        '    selector: { name: web }\n  - type: workload-identity-api\n    listen: unix:/run/wid/agent.sock\n    selector: { name: web }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'services[1].listen',
      line: 8,
    },
    {
      name: 'onboarding in standalone mode',
      text: BASE.replace(
        'trust_domain: example.org',
        'trust_domain: example.org\nonboarding: { join_method: token, token: x }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'onboarding',
      line: 3,
    },
    {
      name: 'kubelet settings with the kubernetes attestor disabled',
      text: BASE.replace(
        '    selector: { name: web }',
        '    selector: { name: web }\n    attestors:\n      kubernetes:\n        kubelet: { secure_port: 10250 }',
      ),
      code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
      key: 'services[0].attestors.kubernetes.kubelet',
      line: 9,
    },
    {
      name: 'an invalid inline workload identity (unknown attribute), located in the config file',
      text: BASE.replace('workload.unix.uid == 1000', 'workload.unix.uuid == 1000'),
      code: 'ERR_WID_AGENT_CONFIG_WORKLOAD_IDENTITY',
      key: 'workload_identities[0].spec.rules.allow[0].expression',
      line: 14,
    },
    {
      name: 'an invalid legacy svid rule',
      text: `version: v2
trust_domain: example.org
services:
  - type: spiffe-workload-api
    listen: unix:///run/wid/legacy.sock
    svids:
      - path: /svc/foo
        rules:
          - unix: { uid: -1 }
`,
      code: 'ERR_WID_AGENT_CONFIG_WORKLOAD_IDENTITY',
      key: 'services[0].svids[0].rules[0].unix.uid',
      line: 9,
    },
    {
      name: 'a YAML syntax error',
      text: 'version: v2\ntrust_domain: [example.org\n',
      code: 'ERR_WID_AGENT_CONFIG_SYNTAX',
      key: undefined,
      line: 3,
    },
    {
      name: 'a duplicate key',
      text: BASE.replace('trust_domain: example.org', 'trust_domain: example.org\ntrust_domain: example.com'),
      code: 'ERR_WID_AGENT_CONFIG_SYNTAX',
      key: undefined,
      line: 3,
    },
    {
      name: 'no services',
      text: `version: v2\ntrust_domain: example.org\n${IDENTITY}`,
      code: 'ERR_WID_AGENT_CONFIG_MISSING_KEY',
      key: 'services',
      line: 1,
    },
  ];

  it.each(cases)('rejects $name', ({ text, code, key, line }) => {
    const e = failure(text);
    expect(e.code).toBe(code);
    expect(e.key).toBe(key);
    expect(e.line).toBe(line);
    expect(e.source).toBe('agent.yaml');
    // The message names the file, the line and the key.
    expect(e.message).toContain(`agent.yaml:${line}:`);
    if (key !== undefined) expect(e.message).toContain(key);
  });
});

describe('loadAgentConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wid-agent-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads workload identities from files and directories relative to the config', () => {
    mkdirSync(join(dir, 'ids'));
    writeFileSync(
      join(dir, 'ids', 'a.yaml'),
      'kind: workload_identity\nversion: v1\nmetadata: { name: a }\nspec: { spiffe: { id: /a } }\n',
    );
    writeFileSync(
      join(dir, 'b.yaml'),
      'kind: workload_identity\nversion: v1\nmetadata: { name: b }\nspec: { spiffe: { id: /b } }\n',
    );
    writeFileSync(
      join(dir, 'agent.yaml'),
      'version: v2\ntrust_domain: example.org\nservices:\n  - { type: workload-identity-api, listen: unix:s.sock, selector: { name: b } }\nworkload_identities: [ids, ./b.yaml]\n',
    );
    const c = loadAgentConfig(join(dir, 'agent.yaml'));
    expect(c.identities.names()).toEqual(['a', 'b']);
    expect(c.services[0]!.listen).toBe(`unix://${join(dir, 's.sock')}`);
  });

  it('names the resource file and its line when a file is invalid', () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'kind: workload_identity\nversion: v1\nmetadata: { name: bad }\nspec:\n  spiffe: { id: /b, hint: 3, colour: red }\n',
    );
    writeFileSync(
      join(dir, 'agent2.yaml'),
      'version: v2\ntrust_domain: example.org\nservices:\n  - { type: workload-identity-api, listen: unix:s.sock, selector: { name: bad } }\nworkload_identities: [bad.yaml]\n',
    );
    try {
      loadAgentConfig(join(dir, 'agent2.yaml'));
      expect.unreachable();
    } catch (error) {
      const e = error as AgentError;
      expect(e.code).toBe('ERR_WID_AGENT_CONFIG_WORKLOAD_IDENTITY');
      expect(e.source).toBe(join(dir, 'bad.yaml'));
      expect(e.line).toBe(5);
    }
  });

  it('fails with ERR_WID_AGENT_CONFIG_READ for a missing file or resource path', () => {
    expect(() => loadAgentConfig(join(dir, 'nope.yaml'))).toThrow(
      expect.objectContaining({ code: 'ERR_WID_AGENT_CONFIG_READ' }),
    );
    writeFileSync(
      join(dir, 'agent3.yaml'),
      'version: v2\ntrust_domain: example.org\nservices:\n  - { type: workload-identity-api, listen: unix:s.sock, selector: { name: x } }\nworkload_identities: [missing/]\n',
    );
    expect(() => loadAgentConfig(join(dir, 'agent3.yaml'))).toThrow(
      expect.objectContaining({ code: 'ERR_WID_AGENT_CONFIG_READ', key: 'workload_identities[0]', line: 5 }),
    );
  });
});
