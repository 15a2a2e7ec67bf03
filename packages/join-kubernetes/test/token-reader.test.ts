import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubernetesTokenReader, DEFAULT_KUBERNETES_TOKEN_PATH } from '@wid/join-kubernetes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wid-k8s-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createKubernetesTokenReader', () => {
  it('reads KUBERNETES_TOKEN_PATH, trimmed, and re-reads on every call', async () => {
    const path = join(dir, 'token');
    writeFileSync(path, 'first.token.value\n');
    const reader = createKubernetesTokenReader({ env: { KUBERNETES_TOKEN_PATH: path } });
    expect(reader.path).toBe(path);
    expect(await reader.read()).toBe('first.token.value');
    writeFileSync(path, 'second.token.value');
    expect(await reader.read()).toBe('second.token.value');
  });

  it('defaults to the service-account path; tokenPath wins over the environment', () => {
    expect(createKubernetesTokenReader({ env: {} }).path).toBe(DEFAULT_KUBERNETES_TOKEN_PATH);
    expect(createKubernetesTokenReader({ env: { KUBERNETES_TOKEN_PATH: '' } }).path).toBe(
      DEFAULT_KUBERNETES_TOKEN_PATH,
    );
    expect(createKubernetesTokenReader({ env: { KUBERNETES_TOKEN_PATH: '/a' }, tokenPath: '/b' }).path).toBe('/b');
  });

  it('reports a missing file with its path', async () => {
    const path = join(dir, 'missing');
    const e = await expectCode(
      createKubernetesTokenReader({ tokenPath: path }).read(),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_UNREADABLE',
    );
    expect(e['path']).toBe(path);
  });

  it('reports an empty file', async () => {
    const path = join(dir, 'empty');
    writeFileSync(path, ' \n');
    await expectCode(createKubernetesTokenReader({ tokenPath: path }).read(), 'ERR_WID_JOIN_KUBERNETES_TOKEN_EMPTY');
  });
});
