import { WidError } from '@wid/spiffe-id';

/** Every code @wid/attestor-kubernetes throws, with what the user should do (docs/errors.md is generated from this). */
export const ATTEST_KUBERNETES_ERROR_CODES = {
  ERR_WID_ATTEST_KUBERNETES_BAD_OPTION: 'Fix the named option (its TSDoc lists the accepted values).',
  ERR_WID_ATTEST_KUBERNETES_BAD_PID: 'Pass a positive integer PID.',
  ERR_WID_ATTEST_KUBERNETES_PROC_UNREADABLE:
    'Let the agent read /proc/<pid>/cgroup and mountinfo (run it with hostPID and enough privilege; check procfs ' +
    'hidepid), or fix procRoot.',
  ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED:
    'procRoot does not look like a Linux procfs (the error names the file and the bad line; files over ' +
    'maxProcFileBytes are refused): point procRoot at a procfs mount.',
  ERR_WID_ATTEST_KUBERNETES_PROCESS_GONE: 'The process exited before it could be attested; nothing to fix.',
  ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT:
    'The process claims two different pods or containers (its cgroup or mountinfo lines disagree): it is refused. ' +
    'Investigate the workload; wid never guesses.',
  ERR_WID_ATTEST_KUBERNETES_CGROUP_NESTED_POD:
    "The process sits in a cgroup named after a pod below its own container's cgroup (cgroups there are the " +
    "workload's own, so it may be imitating another pod): it is refused. Investigate the workload.",
  ERR_WID_ATTEST_KUBERNETES_NO_CONTAINER_ID:
    "The process sits in a pod's cgroup but not in a container's (e.g. crio-conmon), so it cannot be matched to a " +
    'container. Run the workload as a container of the pod.',
  ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE:
    'Mount a service-account token at kubelet.tokenPath (or set kubelet.anonymous / kubelet.readOnlyPort); the ' +
    'file must be readable by the agent and non-empty.',
  ERR_WID_ATTEST_KUBERNETES_CA_UNREADABLE:
    'Point kubelet.caPath at the PEM of the CA that signed the kubelet serving certificate (or set ' +
    'kubelet.skipVerify where the kubelet uses a self-signed certificate).',
  ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE:
    'Check the node name environment variable (nodeNameEnv, default WID_NODE_NAME), the port, network policy and ' +
    'TLS trust (`cause` has the network or TLS error).',
  ERR_WID_ATTEST_KUBERNETES_KUBELET_TIMEOUT:
    'The kubelet did not answer /pods within requestTimeoutMs: check its health or raise the timeout.',
  ERR_WID_ATTEST_KUBERNETES_KUBELET_HTTP_STATUS:
    '401/403: grant the agent service account RBAC `get` on nodes/proxy (or nodes/pods); other statuses: see the ' +
    'kubelet logs (`status` and `body` hold its answer).',
  ERR_WID_ATTEST_KUBERNETES_KUBELET_BAD_RESPONSE:
    'The kubelet answered /pods with something that is not a PodList (`body` holds the start of it): check that ' +
    'the host and port reach a kubelet and not another service.',
  ERR_WID_ATTEST_KUBERNETES_POD_NOT_FOUND:
    'No pod on this node runs the container (after retrying for maxPollAttempts × pollRetryIntervalMs): check that ' +
    'the agent asks the kubelet of the node the workload runs on (node name env var).',
  ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_FOUND:
    'The pod was found but none of its containers has this container ID (e.g. the container restarted): retry.',
  ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_READY:
    'The pod was found but the container had no ID in its status yet (still starting) when the retry budget ran ' +
    'out: retry, or raise maxPollAttempts / pollRetryIntervalMs.',
  ERR_WID_ATTEST_KUBERNETES_AMBIGUOUS_CONTAINER:
    'Two pods report the same container ID: the kubelet answer is inconsistent, so the process is refused.',
  ERR_WID_ATTEST_KUBERNETES_ABORTED: 'The caller aborted the operation through its AbortSignal; nothing to fix.',
} as const;

/** Union of every code in {@link ATTEST_KUBERNETES_ERROR_CODES}. */
export type KubernetesAttestorErrorCode = keyof typeof ATTEST_KUBERNETES_ERROR_CODES;

/** Structured fields of a {@link KubernetesAttestorError}; each is present only where it applies. */
export interface KubernetesAttestorErrorFields {
  /** The process concerned. */
  readonly pid?: number | undefined;
  /** The file that was read or was wrong (a /proc file, the token or CA file). */
  readonly file?: string | undefined;
  /** The offending line of `file` (truncated to 200 characters), for malformed content or conflicts. */
  readonly line?: string | undefined;
  /** The pod UID found in the cgroup (or the two that conflict or nest, joined by `, `, outer first). */
  readonly podUid?: string | undefined;
  /** The container ID found in the cgroup (or the two that conflict, joined by `, `). */
  readonly containerId?: string | undefined;
  /** For AMBIGUOUS_CONTAINER: `namespace/name` of each pod claiming the container. */
  readonly pods?: readonly string[] | undefined;
  /** The kubelet URL asked. */
  readonly url?: string | undefined;
  /** For KUBELET_HTTP_STATUS: the HTTP status. */
  readonly status?: number | undefined;
  /** For KUBELET_HTTP_STATUS / KUBELET_BAD_RESPONSE: the start of the body (at most 200 characters). */
  readonly body?: string | undefined;
  /** For POD_NOT_FOUND / CONTAINER_NOT_*: how many times the pod list was consulted. */
  readonly attempts?: number | undefined;
  /** The errno name (`EACCES`, `ECONNREFUSED`, ...) when a system call failed. */
  readonly errno?: string | undefined;
  /** For BAD_OPTION: the option key. */
  readonly key?: string | undefined;
}

/**
 * Thrown by everything in @wid/attestor-kubernetes. Match on `code`; the fields say which process, pod, container,
 * file or URL. The Workload API server treats any failure of this attestor as soft (logged, `workload.kubernetes`
 * absent).
 *
 * @example
 * try { await k8s.attest(pid) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_READY')) retryLater(e.podUid);
 * }
 */
export class KubernetesAttestorError extends WidError {
  declare readonly code: KubernetesAttestorErrorCode;
  /** Always `kubernetes`: the attestor that failed. */
  readonly attestor = 'kubernetes';
  readonly pid: number | undefined;
  readonly file: string | undefined;
  readonly line: string | undefined;
  readonly podUid: string | undefined;
  readonly containerId: string | undefined;
  readonly pods: readonly string[] | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly body: string | undefined;
  readonly attempts: number | undefined;
  readonly errno: string | undefined;
  readonly key: string | undefined;

  constructor(
    code: KubernetesAttestorErrorCode,
    message: string,
    fields: KubernetesAttestorErrorFields = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.pid = fields.pid;
    this.file = fields.file;
    this.line = fields.line?.slice(0, 200);
    this.podUid = fields.podUid;
    this.containerId = fields.containerId;
    this.pods = fields.pods;
    this.url = fields.url;
    this.status = fields.status;
    this.body = fields.body?.slice(0, 200);
    this.attempts = fields.attempts;
    this.errno = fields.errno;
    this.key = fields.key;
  }
}
