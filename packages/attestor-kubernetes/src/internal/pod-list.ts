import { KubernetesAttestorError } from '../errors.js';

/** The parts of a container status the attestor uses. */
export interface ContainerStatusInfo {
  readonly name: string;
  readonly image: string | undefined;
  readonly imageID: string | undefined;
  /** Without the `containerd://` / `cri-o://` / `docker://` prefix; undefined while the container is not created. */
  readonly containerId: string | undefined;
}

/** The parts of a pod the attestor uses. */
export interface PodInfo {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** containers, initContainers and ephemeralContainers statuses. */
  readonly statuses: readonly ContainerStatusInfo[];
  /** True when some container of the spec has no status with an ID yet (the start-up race). */
  readonly notReady: boolean;
}

/** A PodList indexed once, so each attestation against a cached list is two map lookups. */
export interface PodIndex {
  readonly pods: readonly PodInfo[];
  readonly byUid: ReadonlyMap<string, PodInfo>;
  readonly byContainerId: ReadonlyMap<string, readonly { pod: PodInfo; status: ContainerStatusInfo }[]>;
}

class Bad extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, where: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || (v === '' && !required)) {
    if (required) throw new Bad(`${where}.${key} is missing`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw new Bad(`${where}.${key} is not a non-empty string`);
  return v;
}

function arr(obj: Record<string, unknown>, key: string, where: string): unknown[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Bad(`${where}.${key} is not an array`);
  return v;
}

/** `containerd://4c5d…` → `4c5d…` (the kubelet prefixes the runtime; cgroups do not). */
export function stripRuntimePrefix(id: string): string {
  const i = id.indexOf('://');
  return i < 0 ? id : id.slice(i + 3);
}

function parsePod(item: unknown, i: number): PodInfo {
  const where = `items[${i}]`;
  if (!isObject(item)) throw new Bad(`${where} is not an object`);
  const metadata = item['metadata'];
  if (!isObject(metadata)) throw new Bad(`${where}.metadata is not an object`);
  const uid = str(metadata, 'uid', `${where}.metadata`, true)!;
  const name = str(metadata, 'name', `${where}.metadata`, true)!;
  const namespace = str(metadata, 'namespace', `${where}.metadata`, true)!;
  const rawLabels = metadata['labels'] ?? {};
  if (!isObject(rawLabels)) throw new Bad(`${where}.metadata.labels is not an object`);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawLabels)) {
    if (typeof v !== 'string') throw new Bad(`${where}.metadata.labels.${k} is not a string`);
    labels[k] = v;
  }
  const spec = item['spec'] ?? {};
  if (!isObject(spec)) throw new Bad(`${where}.spec is not an object`);
  const serviceAccount =
    str(spec, 'serviceAccountName', `${where}.spec`, false) ?? str(spec, 'serviceAccount', `${where}.spec`, false);
  const specContainers = arr(spec, 'containers', `${where}.spec`).length;
  const status = item['status'] ?? {};
  if (!isObject(status)) throw new Bad(`${where}.status is not an object`);
  const statuses: ContainerStatusInfo[] = [];
  let mainStatuses = 0;
  let notReady = false;
  for (const key of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    const list = arr(status, key, `${where}.status`);
    if (key === 'containerStatuses') mainStatuses = list.length;
    list.forEach((s, j) => {
      const w = `${where}.status.${key}[${j}]`;
      if (!isObject(s)) throw new Bad(`${w} is not an object`);
      const rawId = str(s, 'containerID', w, false);
      const containerId = rawId === undefined ? undefined : stripRuntimePrefix(rawId);
      if (containerId === undefined || containerId === '') notReady = true;
      statuses.push({
        name: str(s, 'name', w, true)!,
        image: str(s, 'image', w, false),
        imageID: str(s, 'imageID', w, false),
        containerId: containerId === '' ? undefined : containerId,
      });
    });
  }
  if (mainStatuses < specContainers) notReady = true;
  return Object.freeze({ uid, name, namespace, serviceAccount, labels: Object.freeze(labels), statuses, notReady });
}

/**
 * Parses the kubelet's `/pods` answer (a v1 PodList) and indexes it by pod UID and container ID. Throws
 * `ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE` naming the first thing that is not PodList-shaped.
 */
export function parsePodList(body: string, url: string): PodIndex {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new KubernetesAttestorError(
      'ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE',
      `kubelet ${url} answered with malformed JSON: ${(e as Error).message}`,
      { url, body },
      { cause: e },
    );
  }
  try {
    if (!isObject(json)) throw new Bad('the body is not a JSON object');
    if (json['kind'] !== undefined && json['kind'] !== 'PodList') throw new Bad(`kind is ${String(json['kind'])}`);
    const items = json['items'];
    if (items !== null && items !== undefined && !Array.isArray(items)) throw new Bad('items is not an array');
    const pods = (items ?? []).map(parsePod);
    const byUid = new Map<string, PodInfo>();
    const byContainerId = new Map<string, { pod: PodInfo; status: ContainerStatusInfo }[]>();
    for (const pod of pods) {
      byUid.set(pod.uid, pod);
      for (const status of pod.statuses) {
        if (status.containerId === undefined) continue;
        const list = byContainerId.get(status.containerId);
        if (list) list.push({ pod, status });
        else byContainerId.set(status.containerId, [{ pod, status }]);
      }
    }
    return { pods, byUid, byContainerId };
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    throw new KubernetesAttestorError(
      'ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE',
      `kubelet ${url} answered with something that is not a PodList: ${e.message}`,
      { url, body },
    );
  }
}
