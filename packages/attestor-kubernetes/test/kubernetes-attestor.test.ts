import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ATTEST_KUBERNETES_ERROR_CODES,
  createKubernetesAttestor,
  KubernetesAttestorError,
  type KubernetesAttestorOptions,
} from '@wid/attestor-kubernetes';
import { FAKE_KUBELET_CA_PEM, FakeKubelet, fakePod, UNRELATED_CA_PEM } from '@wid/attestor-kubernetes/testing';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const procRoot = join(fixtures, 'proc');
const { uids: U, ids: C } = JSON.parse(readFileSync(join(fixtures, 'ids.json'), 'utf8')) as {
  uids: Record<string, string>;
  ids: Record<string, string>;
};

const PODS = [
  fakePod({
    name: 'web-0',
    namespace: 'default',
    uid: U.A!,
    serviceAccount: 'web',
    labels: { app: 'web', team: 'payments' },
    containers: [
      { name: 'setup', kind: 'init', containerID: `containerd://${C.Ainit}` },
      { name: 'web', image: 'registry.example/web:2.1', containerID: `containerd://${C.A}` },
      { name: 'sidecar', containerID: `containerd://${C.A2}` },
    ],
  }),
  fakePod({
    name: 'api-7d9f8',
    namespace: 'prod',
    uid: U.B!,
    serviceAccount: 'api',
    labels: { app: 'api' },
    containers: [{ name: 'api', containerID: `cri-o://${C.B}` }],
  }),
  fakePod({
    name: 'legacy',
    uid: U.C!,
    containers: [
      {
        name: 'app',
        image: 'registry.example/app:0.9',
        imageID:
          'docker-pullable://registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        containerID: `docker://${C.C}`,
      },
    ],
  }),
  fakePod({ name: 'starting', uid: U.D!, containers: [{ name: 'slow' }] }),
  fakePod({
    name: 'twin-a',
    uid: 'aaaaaaaa-0000-4000-8000-000000000001',
    containers: [{ name: 'x', containerID: `containerd://${C.AMB}` }],
  }),
  fakePod({
    name: 'twin-b',
    uid: 'aaaaaaaa-0000-4000-8000-000000000002',
    containers: [{ name: 'x', containerID: `containerd://${C.AMB}` }],
  }),
  fakePod({
    name: 'etcd-node-1',
    namespace: 'kube-system',
    uid: U.S!,
    serviceAccount: null,
    containers: [{ name: 'etcd', imageID: 'sha256:5e5e', containerID: `containerd://${C.S}` }],
  }),
];

const WEB = {
  namespace: 'default',
  pod_name: 'web-0',
  pod_uid: U.A,
  service_account: 'web',
  labels: { app: 'web', team: 'payments' },
  container: {
    name: 'web',
    image: 'registry.example/web:2.1',
    image_digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
  },
};

let kubelet: FakeKubelet;
let tmp: string;
let caPath: string;
let tokenPath: string;
const attestors: { close(): Promise<void> }[] = [];

function make(overrides: KubernetesAttestorOptions = {}) {
  const a = createKubernetesAttestor({
    procRoot,
    env: {},
    pollRetryIntervalMs: 5,
    maxPollAttempts: 3,
    ...overrides,
    kubelet: { securePort: kubelet.port, caPath, tokenPath, ...overrides.kubelet },
  });
  attestors.push(a);
  return a;
}

async function rejection(p: Promise<unknown>): Promise<KubernetesAttestorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KubernetesAttestorError);
    return e as KubernetesAttestorError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  kubelet = await FakeKubelet.start({ pods: PODS, token: 'sa-token-1' });
  tmp = mkdtempSync(join(tmpdir(), 'wid-k8s-'));
  caPath = join(tmp, 'ca.crt');
  tokenPath = join(tmp, 'token');
  writeFileSync(caPath, FAKE_KUBELET_CA_PEM);
  writeFileSync(tokenPath, 'sa-token-1\n');
});

beforeEach(() => {
  kubelet.setPods(PODS);
  kubelet.token = 'sa-token-1';
  kubelet.delayMs = 0;
  kubelet.respondWith = undefined;
  kubelet.onRequest = undefined;
  writeFileSync(tokenPath, 'sa-token-1\n');
});

afterAll(async () => {
  await Promise.all(attestors.map((a) => a.close()));
  await kubelet.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('createKubernetesAttestor: locating and matching', () => {
  it('is named kubernetes and satisfies the WorkloadAttestor shape', () => {
    const a = make();
    expect(a.name).toBe('kubernetes');
    expect(typeof a.attest).toBe('function');
  });

  it('attests a containerd pod on cgroup v2 with the systemd driver, ignoring a forged mountinfo', async () => {
    expect(await make().attest(1001)).toEqual(WEB);
    expect(kubelet.lastAuthorization).toBe('Bearer sa-token-1');
  });

  it('attests a CRI-O pod on cgroup v1', async () => {
    expect(await make().attest(1002)).toMatchObject({
      namespace: 'prod',
      pod_name: 'api-7d9f8',
      pod_uid: U.B,
      service_account: 'api',
      labels: { app: 'api' },
      container: { name: 'api', image: 'registry.example/api:1.0' },
    });
  });

  it('attests a Docker pod and takes image_digest after the @ of a docker-pullable imageID', async () => {
    expect(await make().attest(1003)).toMatchObject({
      pod_name: 'legacy',
      container: {
        name: 'app',
        image: 'registry.example/app:0.9',
        image_digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      },
    });
  });

  it('attests an init container in kind-style nesting (the node container ID does not win)', async () => {
    expect(await make().attest(1004)).toMatchObject({ pod_uid: U.A, container: { name: 'setup' } });
  });

  it('finds the pod by container ID alone when a cgroup namespace hides the pod UID', async () => {
    expect(await make().attest(1006)).toMatchObject({ pod_name: 'api-7d9f8', container: { name: 'api' } });
  });

  it('falls back to the cgroup mount in mountinfo only when enabled and the cgroup file names nothing', async () => {
    expect(await make({ mountinfoFallback: true }).attest(1007)).toEqual(WEB);
    expect(await make({ mountinfoFallback: false }).attest(1007)).toEqual({});
    expect(await make().attest(1007)).toEqual({});
  });

  it('ignores by default a mountinfo forged by a host process (user + cgroup namespace, bind-mounted cgroup2)', async () => {
    // An unprivileged host user can `unshare -UrmC`, mount cgroup2 and bind-mount a cgroup it created so that its
    // mountinfo shows a kubelet-looking cgroup root; its cgroup file stays in its own user slice.
    const root = join(tmp, 'proc-forged');
    const forge = (pid: number, cgroupRoot: string) => {
      mkdirSync(join(root, String(pid)), { recursive: true });
      writeFileSync(join(root, String(pid), 'cgroup'), '0::/user.slice/user-1000.slice/session-3.scope\n');
      writeFileSync(
        join(root, String(pid), 'mountinfo'),
        '28 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw\n' +
          `912 28 0:26 ${cgroupRoot} /tmp/cg rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n`,
      );
    };
    forge(7001, `/kubepods/besteffort/pod${U.A}/${C.A}`);
    forge(7002, `/pod${U.A}/${C.A}`);
    const a = make({ procRoot: root });
    expect(await a.attest(7001)).toEqual({});
    expect(await a.attest(7002)).toEqual({});
    expect(a.stats().kubeletRequests).toBe(0);
    // Opting in trusts the mount table, but only in the kubelet's own layouts.
    const optIn = make({ procRoot: root, mountinfoFallback: true });
    expect(await optIn.attest(7002)).toEqual({});
    expect(optIn.stats().kubeletRequests).toBe(0);
  });

  it('omits service_account and image_digest when the pod has none', async () => {
    const attrs = await make().attest(1015);
    expect(attrs).toEqual({
      namespace: 'kube-system',
      pod_name: 'etcd-node-1',
      pod_uid: U.S,
      labels: {},
      container: { name: 'etcd', image: 'registry.example/etcd:1.0' },
    });
  });

  it('resolves {} for a process outside any container, without asking the kubelet', async () => {
    const a = make();
    expect(await a.attest(1005)).toEqual({});
    expect(a.stats().kubeletRequests).toBe(0);
  });

  it('refuses a container ID that two pods claim', async () => {
    const e = await rejection(make().attest(1012));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_AMBIGUOUS_CONTAINER',
      pid: 1012,
      containerId: C.AMB,
      pods: ['default/twin-a', 'default/twin-b'],
    });
  });

  it('refuses a cgroup file naming two pods', async () => {
    const e = await rejection(make().attest(1017));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT', pid: 1017 });
  });

  it('refuses a process in a pod cgroup but outside its containers (CRI-O conmon)', async () => {
    const e = await rejection(make().attest(1014));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_NO_CONTAINER_ID', podUid: U.B });
  });
});

describe('createKubernetesAttestor: the start-up race', () => {
  it('gives up on a container without ID after the retry budget, saying the pod was found', async () => {
    const a = make({ maxPollAttempts: 3, pollRetryIntervalMs: 5 });
    const e = await rejection(a.attest(1011));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_READY',
      podUid: U.D,
      containerId: C.D,
      attempts: 3,
    });
    expect(e.message).toContain('pod found (default/starting), container not ready');
    expect(a.stats().kubeletRequests).toBe(3); // every retry asks again, past the cache
  });

  it('succeeds once the kubelet reports the container ID', async () => {
    let seen = 0;
    kubelet.onRequest = () => {
      if (++seen !== 2) return;
      const ready = fakePod({
        name: 'starting',
        uid: U.D!,
        containers: [{ name: 'slow', containerID: `containerd://${C.D}` }],
      });
      kubelet.setPods(PODS.map((p) => ((p.metadata as { uid: string }).uid === U.D ? ready : p)));
    };
    const a = make({ maxPollAttempts: 5 });
    expect(await a.attest(1011)).toMatchObject({ pod_name: 'starting', container: { name: 'slow' } });
    expect(a.stats().kubeletRequests).toBe(2);
  });

  it('reports a pod UID the kubelet does not list after the budget', async () => {
    const e = await rejection(make({ maxPollAttempts: 2 }).attest(1013));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_POD_NOT_FOUND', podUid: U.X, attempts: 2 });
  });

  it('reports a pod that has no such container (all its containers have IDs)', async () => {
    kubelet.setPods(
      PODS.map((p) =>
        (p.metadata as { uid: string }).uid === U.D
          ? fakePod({ name: 'starting', uid: U.D!, containers: [{ name: 'slow', containerID: `containerd://${C.X}` }] })
          : p,
      ),
    );
    const e = await rejection(make({ maxPollAttempts: 2 }).attest(1011));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_FOUND', podUid: U.D, attempts: 2 });
  });

  it('stops retrying when the signal aborts', async () => {
    const controller = new AbortController();
    const a = make({ maxPollAttempts: 1000, pollRetryIntervalMs: 20 });
    const p = a.attest(1011, controller.signal);
    setTimeout(() => controller.abort(new Error('call cancelled')), 30);
    const e = await rejection(p);
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_ABORTED', pid: 1011 });
  });
});

describe('createKubernetesAttestor: kubelet cost', () => {
  it('serves a burst of 100 attestations with one /pods request', async () => {
    kubelet.delayMs = 20;
    const a = make();
    const pids = Array.from({ length: 100 }, (_, i) => [1001, 1002, 1003, 1004, 1006][i % 5]!);
    const results = await Promise.all(pids.map((pid) => a.attest(pid)));
    expect(results.filter((r) => 'pod_name' in r)).toHaveLength(100);
    expect(a.stats().kubeletRequests).toBe(1);
  });

  it('answers from the cache within podListCacheMs and asks again with podListCacheMs 0', async () => {
    const cached = make({ podListCacheMs: 60_000 });
    await cached.attest(1001);
    await cached.attest(1002);
    expect(cached.stats().kubeletRequests).toBe(1);
    const uncached = make({ podListCacheMs: 0 });
    await uncached.attest(1001);
    await uncached.attest(1002);
    expect(uncached.stats().kubeletRequests).toBe(2);
  });

  it('does not cache failures', async () => {
    const a = make({ podListCacheMs: 60_000 });
    kubelet.respondWith = { status: 503, body: 'busy' };
    await rejection(a.attest(1001));
    kubelet.respondWith = undefined;
    expect(await a.attest(1001)).toEqual(WEB);
  });
});

describe('createKubernetesAttestor: the kubelet client', () => {
  it('re-reads the token file when it changes', async () => {
    const a = make({ podListCacheMs: 0 });
    await a.attest(1001);
    kubelet.token = 'sa-token-2';
    writeFileSync(tokenPath, 'sa-token-2\n');
    await a.attest(1001);
    expect(kubelet.lastAuthorization).toBe('Bearer sa-token-2');
  });

  it('turns a rejected token into KUBELET_HTTP_STATUS 401', async () => {
    kubelet.token = 'another';
    const e = await rejection(make().attest(1001));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_HTTP_STATUS',
      status: 401,
      body: 'Unauthorized',
      url: `https://127.0.0.1:${kubelet.port}/pods`,
    });
  });

  it('reports a missing or empty token file', async () => {
    const missing = await rejection(make({ kubelet: { tokenPath: join(tmp, 'nope') } }).attest(1001));
    expect(missing).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE', errno: 'ENOENT' });
    writeFileSync(join(tmp, 'empty-token'), '\n');
    const empty = await rejection(make({ kubelet: { tokenPath: join(tmp, 'empty-token') } }).attest(1001));
    expect(empty).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE', file: join(tmp, 'empty-token') });
  });

  it('sends no token when anonymous', async () => {
    kubelet.token = undefined;
    const a = createKubernetesAttestor({
      procRoot,
      env: {},
      kubelet: { securePort: kubelet.port, caPath, anonymous: true },
    });
    attestors.push(a);
    expect(await a.attest(1001)).toEqual(WEB);
    expect(kubelet.lastAuthorization).toBeUndefined();
  });

  it('refuses a kubelet whose certificate is not signed by the configured CA', async () => {
    writeFileSync(join(tmp, 'other-ca.crt'), UNRELATED_CA_PEM);
    const e = await rejection(make({ kubelet: { caPath: join(tmp, 'other-ca.crt') } }).attest(1001));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE' });
  });

  it('accepts any certificate with skipVerify', async () => {
    const a = createKubernetesAttestor({
      procRoot,
      env: {},
      kubelet: { securePort: kubelet.port, tokenPath, skipVerify: true },
    });
    attestors.push(a);
    expect(await a.attest(1001)).toEqual(WEB);
  });

  it('reports an unusable CA file', async () => {
    writeFileSync(join(tmp, 'bad-ca.crt'), 'not a certificate');
    const bad = await rejection(make({ kubelet: { caPath: join(tmp, 'bad-ca.crt') } }).attest(1001));
    expect(bad).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_CA_UNREADABLE', file: join(tmp, 'bad-ca.crt') });
    const missing = await rejection(make({ kubelet: { caPath: join(tmp, 'none.crt') } }).attest(1001));
    expect(missing).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_CA_UNREADABLE', errno: 'ENOENT' });
  });

  it('talks plain HTTP without a token on the read-only port', async () => {
    const ro = await FakeKubelet.start({ tls: false, token: null, pods: PODS });
    try {
      const a = createKubernetesAttestor({ procRoot, env: {}, kubelet: { readOnlyPort: ro.port } });
      attestors.push(a);
      expect(await a.attest(1001)).toEqual(WEB);
      expect(ro.lastAuthorization).toBeUndefined();
    } finally {
      await ro.close();
    }
  });

  it('asks the kubelet on the node named by the configured environment variable', async () => {
    const a = make({ nodeNameEnv: 'TELEPORT_NODE_NAME', env: { TELEPORT_NODE_NAME: 'localhost', WID_NODE_NAME: 'x' } });
    expect(await a.attest(1001)).toEqual(WEB);
    kubelet.respondWith = { status: 500, body: 'boom' };
    const e = await rejection(make({ env: { WID_NODE_NAME: 'localhost' } }).attest(1001));
    expect(e.url).toBe(`https://localhost:${kubelet.port}/pods`);
  });

  it('reports HTTP errors with status and body', async () => {
    kubelet.respondWith = { status: 500, body: 'internal error: runtime down', contentType: 'text/plain' };
    const e = await rejection(make().attest(1001));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_HTTP_STATUS',
      status: 500,
      body: 'internal error: runtime down',
    });
  });

  it('reports malformed JSON and non-PodList answers', async () => {
    kubelet.respondWith = { status: 200, body: '{"kind":"PodList","items":[' };
    const json = await rejection(make().attest(1001));
    expect(json).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE',
      body: '{"kind":"PodList","items":[',
    });
    kubelet.respondWith = { status: 200, body: '{"kind":"PodList","items":[{"metadata":{"name":"x"}}]}' };
    const shape = await rejection(make().attest(1001));
    expect(shape.code).toBe('ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE');
    expect(shape.message).toContain('items[0].metadata.uid is missing');
    kubelet.respondWith = { status: 200, body: '{"kind":"Status","status":"Failure"}' };
    expect((await rejection(make().attest(1001))).code).toBe('ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE');
  });

  it('times out a slow kubelet', async () => {
    kubelet.delayMs = 2000;
    const e = await rejection(make({ requestTimeoutMs: 100 }).attest(1001));
    expect(e).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_TIMEOUT',
      url: expect.stringContaining('/pods'),
    });
  });

  it('reports an unreachable kubelet', async () => {
    const closed = await FakeKubelet.start();
    const port = closed.port;
    await closed.close();
    const e = await rejection(make({ kubelet: { securePort: port } }).attest(1001));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE', errno: 'ECONNREFUSED' });
  });

  it('lets one caller abort while the shared request goes on for the others', async () => {
    kubelet.delayMs = 100;
    const a = make();
    const controller = new AbortController();
    const first = a.attest(1001, controller.signal);
    const second = a.attest(1002);
    controller.abort(new Error('cancelled'));
    expect((await rejection(first)).code).toBe('ERR_WID_ATTEST_KUBERNETES_ABORTED');
    expect(await second).toMatchObject({ pod_name: 'api-7d9f8' });
    expect(a.stats().kubeletRequests).toBe(1);
  });

  it('refuses to open a new connection pool after close()', async () => {
    const a = make({ podListCacheMs: 0 });
    await a.attest(1001);
    await a.close();
    const e = await rejection(a.attest(1001));
    expect(e.code).toBe('ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE');
    expect(e.message).toContain('closed');
  });

  it('uses an injected dispatcher as is and does not close it', async () => {
    const agent = new Agent({ connect: { ca: FAKE_KUBELET_CA_PEM } });
    try {
      const a = createKubernetesAttestor({
        procRoot,
        env: {},
        dispatcher: agent,
        kubelet: { securePort: kubelet.port, tokenPath },
      });
      expect(await a.attest(1001)).toEqual(WEB);
      await a[Symbol.asyncDispose]();
      expect(agent.closed).toBe(false);
    } finally {
      await agent.close();
    }
  });
});

describe('createKubernetesAttestor: /proc input', () => {
  it('rejects binary garbage and truncated cgroup files as malformed', async () => {
    const a = make();
    const bin = await rejection(a.attest(1008));
    expect(bin).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
      file: join(procRoot, '1008', 'cgroup'),
    });
    expect(bin.message).toContain('binary');
    const cut = await rejection(a.attest(1009));
    expect(cut).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED', pid: 1009 });
    expect(cut.message).toContain('truncated');
  });

  it('tells a missing /proc entry of a live process from a process that is gone', async () => {
    const a = make();
    expect(await rejection(a.attest(1010))).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
      file: join(procRoot, '1010', 'cgroup'),
    });
    expect(await rejection(make({ mountinfoFallback: true }).attest(1016))).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
      file: join(procRoot, '1016', 'mountinfo'),
    });
    expect(await rejection(a.attest(424242))).toMatchObject({
      code: 'ERR_WID_ATTEST_KUBERNETES_PROCESS_GONE',
      pid: 424242,
    });
  });

  it('refuses files over maxProcFileBytes', async () => {
    const root = join(tmp, 'proc');
    mkdirSync(join(root, '5'), { recursive: true });
    writeFileSync(join(root, '5', 'cgroup'), '0::/\n');
    writeFileSync(join(root, '5', 'mountinfo'), '1 0 0:1 / / rw - ext4 /dev/x rw\n'.repeat(100_000));
    const e = await rejection(make({ procRoot: root, maxProcFileBytes: 65536, mountinfoFallback: true }).attest(5));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED', file: join(root, '5', 'mountinfo') });
    expect(e.message).toContain('65536-byte limit');
  });

  it('reports an unreadable cgroup file with its errno', async () => {
    const root = join(tmp, 'proc2');
    mkdirSync(join(root, '6', 'cgroup'), { recursive: true });
    const e = await rejection(make({ procRoot: root }).attest(6));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_KUBERNETES_PROC_UNREADABLE', errno: 'EISDIR' });
  });

  it('rejects a PID that is not a positive integer', async () => {
    for (const pid of [0, -3, 2.5]) {
      expect((await rejection(make().attest(pid))).code).toBe('ERR_WID_ATTEST_KUBERNETES_BAD_PID');
    }
  });
});

describe('createKubernetesAttestor: options', () => {
  const cases: [string, KubernetesAttestorOptions][] = [
    ['procRoot', { procRoot: '' }],
    ['maxProcFileBytes', { maxProcFileBytes: 0 }],
    ['mountinfoFallback', { mountinfoFallback: 'yes' as unknown as boolean }],
    ['kubelet.securePort', { kubelet: { securePort: 70000 } }],
    ['kubelet.securePort', { kubelet: { readOnlyPort: 10255, securePort: 10250 } }],
    ['kubelet.tokenPath', { kubelet: { readOnlyPort: 10255, tokenPath: '/t' } }],
    ['kubelet.caPath', { kubelet: { skipVerify: true, caPath: '/ca' } }],
    ['kubelet.tokenPath', { kubelet: { anonymous: true, tokenPath: '/t' } }],
    ['kubelet.skipVerify', { kubelet: { skipVerify: 1 as unknown as boolean } }],
    ['nodeNameEnv', { nodeNameEnv: 'not a name' }],
    ['env.WID_NODE_NAME', { env: { WID_NODE_NAME: 'bad host/name' } }],
    ['requestTimeoutMs', { requestTimeoutMs: 0 }],
    ['podListCacheMs', { podListCacheMs: -1 }],
    ['maxPollAttempts', { maxPollAttempts: 0 }],
    ['pollRetryIntervalMs', { pollRetryIntervalMs: 1.5 }],
    ['dispatcher', { dispatcher: {} as never }],
    ['logger', { logger: { debug() {} } as never }],
  ];
  for (const [key, options] of cases) {
    it(`rejects a bad ${key}`, () => {
      expect(() => createKubernetesAttestor({ env: {}, ...options })).toThrow(
        expect.objectContaining({ code: 'ERR_WID_ATTEST_KUBERNETES_BAD_OPTION', key }),
      );
    });
  }

  it('reads nothing at construction (no I/O) and defaults the host to 127.0.0.1', async () => {
    const a = createKubernetesAttestor({
      procRoot,
      env: {},
      kubelet: { securePort: kubelet.port, tokenPath: join(tmp, 'missing-at-construction') },
    });
    attestors.push(a);
    const e = await rejection(a.attest(1001));
    expect(e.code).toBe('ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE');
  });
});

describe('ATTEST_KUBERNETES_ERROR_CODES', () => {
  it('documents every code with the package prefix and a hint', () => {
    for (const [code, hint] of Object.entries(ATTEST_KUBERNETES_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_WID_ATTEST_KUBERNETES_[A-Z_]+$/);
      expect(hint.length).toBeGreaterThan(10);
    }
  });
});
