import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AGENT_ERROR_CODES,
  buildAttestors,
  closeAttestors,
  createAgentLogger,
  formatLogLine,
  parseAgentConfig,
  renderSystemdUnit,
} from '@wid/agent';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [readFileSync(join(dir, e.name), 'utf8')]
        : [],
  );
}

describe('AGENT_ERROR_CODES', () => {
  it('lists every ERR_WID_AGENT_* code the sources use, each with advice', () => {
    const used = new Set(sources(SRC).flatMap((t) => t.match(/ERR_WID_AGENT_[A-Z_]*[A-Z](?![A-Z_*])/g) ?? []));
    for (const code of used) expect(AGENT_ERROR_CODES, code).toHaveProperty(code);
    for (const text of Object.values(AGENT_ERROR_CODES)) expect(text.length).toBeGreaterThan(20);
  });
});

describe('formatLogLine', () => {
  it('renders level, message and flattened fields', () => {
    const line = formatLogLine(
      JSON.stringify({
        level: 30,
        time: 0,
        msg: 'audit',
        audit: { spiffeId: 'spiffe://example.org/a', attributes: { workload: { unix: { uid: 1000 } } } },
      }),
    );
    expect(line).toBe(
      '00:00:00.000 INFO  audit audit.spiffeId=spiffe://example.org/a audit.attributes.workload.unix.uid=1000\n',
    );
  });

  it('shows an error by message and code', () => {
    const line = formatLogLine(
      JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { message: 'boom here', code: 'ERR_X', stack: '...' } }),
    );
    expect(line).toBe('00:00:00.000 ERROR failed err="boom here" code=ERR_X\n');
  });
});

describe('createAgentLogger', () => {
  it('writes JSON lines or text lines to the destination', () => {
    const json: string[] = [];
    createAgentLogger({ format: 'json', destination: { write: (s) => json.push(s) } }).info({ a: 1 }, 'hello');
    expect(JSON.parse(json[0]!)).toMatchObject({ level: 30, msg: 'hello', a: 1 });
    const text: string[] = [];
    const logger = createAgentLogger({ format: 'text', level: 'warn', destination: { write: (s) => text.push(s) } });
    logger.info({}, 'dropped');
    logger.warn({ b: 'x y' }, 'kept');
    expect(text).toHaveLength(1);
    expect(text[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}kept b="x y"\n$/);
  });
});

describe('buildAttestors', () => {
  const config = (attestors: string) =>
    parseAgentConfig(
      `version: v2
trust_domain: example.org
services:
  - type: workload-identity-api
    listen: unix:///run/wid/agent.sock
    selector: { name: a }
    attestors: ${attestors}
workload_identities:
  - { kind: workload_identity, version: v1, metadata: { name: a }, spec: { spiffe: { id: /a } } }
`,
      { baseDir: '/' },
    ).services[0]!.attestors;

  it('always puts unix first and adds the enabled attestors', async () => {
    const list = buildAttestors(
      config(
        '{ systemd: { enabled: true }, kubernetes: { enabled: true, kubelet: { skip_verify: true, anonymous: true } } }',
      ),
    );
    expect(list.map((a) => a.name)).toEqual(['unix', 'kubernetes', 'systemd']);
    await closeAttestors(list);
  });

  it('gives only unix by default', () => {
    expect(buildAttestors(config('{}')).map((a) => a.name)).toEqual(['unix']);
  });

  it('rejects conflicting kubelet settings at parse time, naming the key', () => {
    expect(() =>
      config('{ kubernetes: { enabled: true, kubelet: { read_only_port: 10255, anonymous: true } } }'),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_WID_AGENT_CONFIG_CONFLICT',
        key: 'services[0].attestors.kubernetes.kubelet.anonymous',
        line: 7,
      }),
    );
  });
});

describe('renderSystemdUnit', () => {
  it('quotes arguments with spaces and escapes $ and %', () => {
    const unit = renderSystemdUnit({ command: ['/usr/bin/node', '/opt/my wid/cli.js'], config: '/etc/wid/a$%.yaml' });
    expect(unit).toContain(
      'ExecStart=/usr/bin/node "/opt/my wid/cli.js" start -c "/etc/wid/a$$%%.yaml" --log-format json',
    );
    expect(unit).toContain('User=wid\nGroup=wid\n');
  });

  it('rejects a relative config path and bad user names', () => {
    expect(() => renderSystemdUnit({ command: ['x'], config: 'agent.yaml' })).toThrow(TypeError);
    expect(() => renderSystemdUnit({ command: ['x'], user: 'root; rm' })).toThrow(TypeError);
  });
});
