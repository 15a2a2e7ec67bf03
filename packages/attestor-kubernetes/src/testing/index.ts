/**
 * @wid/attestor-kubernetes/testing: test doubles for code that uses the kubernetes attestor.
 *
 * - {@link FakeKubelet}: a real HTTPS kubelet on loopback answering `/pods` with PodList JSON.
 * - {@link fakePod}: builds realistic v1 Pod objects for it.
 * - The static test PEMs it serves with (`FAKE_KUBELET_CA_PEM`, ...), valid until 2125.
 *
 * @example
 * import { FakeKubelet, fakePod } from '@wid/attestor-kubernetes/testing';
 * await using kubelet = await FakeKubelet.start({ pods: [fakePod({ name: 'a', uid, containers: [] })] });
 */
export {
  FAKE_KUBELET_CA_PEM,
  FAKE_KUBELET_SERVER_CERT_PEM,
  FAKE_KUBELET_SERVER_KEY_PEM,
  UNRELATED_CA_PEM,
} from './certificates.js';
export type { FakeContainer, FakeKubeletOptions, FakeKubeletResponse, FakePodSpec } from './fake-kubelet.js';
export { FakeKubelet, fakePod } from './fake-kubelet.js';
