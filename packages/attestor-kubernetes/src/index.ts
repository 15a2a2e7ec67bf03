/**
 * @wid/attestor-kubernetes: which pod and container a process runs in. It reads /proc/<pid>/cgroup (cgroup v1/v2,
 * cgroupfs and systemd drivers, containerd, CRI-O, Docker, kind, cgroup namespaces) and asks the node's kubelet
 * (`/pods`, over undici) for the pod. It is the `kubernetes` workload attestor (`workload.kubernetes.*`) of the wid
 * agent and plugs into `@wid/workload-api-server` structurally.
 *
 * - {@link createKubernetesAttestor}: `attest(pid)` → `{ namespace, pod_name, pod_uid, service_account, labels,
 *   container: { name, image, image_digest } }`, or `{}` outside a container.
 * - {@link locateContainer}: the pure cgroup/mountinfo parser → `{ podUid?, containerId? }`.
 * - `@wid/attestor-kubernetes/testing`: `FakeKubelet`, a real HTTPS kubelet double.
 *
 * @example
 * import { createKubernetesAttestor } from '@wid/attestor-kubernetes';
 * const k8s = createKubernetesAttestor({ kubelet: { skipVerify: true } }); // node from $WID_NODE_NAME
 * const attrs = await k8s.attest(pid);
 */
export type { KubernetesAttestorErrorCode, KubernetesAttestorErrorFields } from './errors.js';
export { ATTEST_KUBERNETES_ERROR_CODES, KubernetesAttestorError } from './errors.js';
export type {
  KubeletOptions,
  KubernetesAttestor,
  KubernetesAttestorLogger,
  KubernetesAttestorOptions,
  KubernetesAttestorStats,
  KubernetesAttributes,
} from './kubernetes-attestor.js';
export { createKubernetesAttestor } from './kubernetes-attestor.js';
export type { ContainerLocation, LocateContainerContext, LocateContainerInput } from './locate-container.js';
export { locateContainer } from './locate-container.js';
