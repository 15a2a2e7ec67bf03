/**
 * @wid/attestor-kubernetes: Kubernetes workload attestation: locate a PID's pod and container from /proc and ask the kubelet about it.
 */
export {};
