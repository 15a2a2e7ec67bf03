import { KubernetesAttestorError } from './errors.js';

/** Where a process runs, as far as its cgroups tell. Both absent: not in a Kubernetes container. */
export interface ContainerLocation {
  /** The pod UID (`metadata.uid`), with dashes (`7c4f3a1e-5b2d-…`), or the 32 hex digits of a static pod. */
  readonly podUid?: string;
  /** The container ID without runtime prefix (64 lowercase hex digits). */
  readonly containerId?: string;
}

/** Input of {@link locateContainer}: the text of /proc/<pid>/cgroup and, optionally, /proc/<pid>/mountinfo. */
export interface LocateContainerInput {
  /** Text of /proc/<pid>/cgroup. */
  readonly cgroup: string;
  /**
   * Text of /proc/<pid>/mountinfo; consulted only when the cgroup file yields nothing. The process controls its own
   * mount table (user + cgroup namespaces let it show any kubelet-looking cgroup root), so pass it only where that
   * is acceptable.
   */
  readonly mountinfo?: string;
}

/** Names used in errors (all optional). */
export interface LocateContainerContext {
  readonly pid?: number;
  readonly cgroupFile?: string;
  readonly mountinfoFile?: string;
}

// Pod UIDs: with dashes (cgroupfs driver), with '_' for '-' (systemd driver, where '-' separates slice levels), or the
// 32 hex digits of a static pod.
const UID_DASHED = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}';
const UID_ESCAPED = '[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}|[0-9a-f]{32}';
const QOS = /^(?:burstable|besteffort)$/;
// cgroupfs driver: `pod<uid>`, the direct child of `kubepods` or of its QoS cgroup.
const CGROUPFS_POD = new RegExp(`^pod(${UID_DASHED})$`);
// systemd driver: `<kubepods slice>[-<qos>]-pod<uid_escaped>.slice`, optionally with the runtime's `:prefix:id`
// appended (containerd in cgroupfs mode takes the systemd-style cgroupsPath literally).
const SYSTEMD_POD = new RegExp(
  `^((?:[A-Za-z0-9_.]+-)*kubepods)(?:-(burstable|besteffort))?-pod(${UID_ESCAPED})\\.slice(?::(?:cri-containerd|crio|docker|containerd):([0-9a-f]{64}))?$`,
);
const SYSTEMD_QOS = /^((?:[A-Za-z0-9_.]+-)*kubepods)-(burstable|besteffort)\.slice$/;
const SLICE = /^([A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*)\.slice$/;
// Anything that names a pod the way the kubelet does, wherever it stands: below a located pod it is a forgery.
const POD_LIKE = new RegExp(`(?:^|-)pod(${UID_DASHED}|${UID_ESCAPED})(?:\\.slice)?(?::|$)`);
// A container's cgroup below its pod: a plain ID (cgroupfs driver) or `<runtime>-<id>.scope` (systemd driver).
// `crio-conmon-<id>.scope` (CRI-O's monitor process) deliberately does not match: it is not the container.
const CONTAINER = /^(?:(?:docker|cri-containerd|crio|containerd)-)?([0-9a-f]{64})(?:\.scope)?$/;
// Cgroups of a node container above the kubelet's hierarchy, created by root: kind's node container on cgroup v1
// (`/docker/<id>`), and containerd's own service cgroup, below which containerd in cgroupfs mode nests pods.
const NODE_PREFIXES: readonly (readonly RegExp[])[] = [
  [/^docker$/, /^[0-9a-f]{64}$/],
  [/^system\.slice$/, /^containerd\.service$/],
];
const CGROUP_LINE = /^(\d+):([^:]*):(\/.*)$/;
// Control characters other than tab and newline: procfs never writes them in these files.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding binary garbage is the point.
const BINARY = /[\x00-\x08\x0b-\x1f\x7f]/;

interface Found {
  readonly podUid: string | undefined;
  readonly containerId: string | undefined;
  readonly line: string;
}

/** What the kubelet layout at the start of a path names, and how many components it spans. */
interface Layout {
  readonly podUid: string | undefined;
  readonly containerId: string | undefined;
  /** Index of the first component below the layout (below the container, or below the pod without one). */
  readonly end: number;
}

interface Where {
  readonly file: string;
  readonly pid: number | undefined;
}

function malformed(file: string, pid: number | undefined, what: string, line?: string): KubernetesAttestorError {
  return new KubernetesAttestorError(
    'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
    `${file}${pid === undefined ? '' : ` (pid ${pid})`} ${what}`,
    { pid, file, line },
  );
}

/** Splits a procfs text file into lines, rejecting empty, binary and truncated content. */
function lines(text: string, file: string, pid: number | undefined): string[] {
  if (text === '') throw malformed(file, pid, 'is empty; procfs never returns it empty');
  const bin = BINARY.exec(text);
  if (bin) {
    throw malformed(
      file,
      pid,
      `contains binary data (byte 0x${bin[0].charCodeAt(0).toString(16).padStart(2, '0')} at offset ${bin.index})`,
    );
  }
  const out = text.split('\n');
  const last = out.pop()!;
  if (last !== '') throw malformed(file, pid, 'is truncated: its last line has no newline', last);
  return out;
}

function normalizePodUid(raw: string): string {
  return raw.replaceAll('_', '-');
}

/** The container below a pod component at `i` (if any) and where the layout ends. */
function belowPod(c: readonly string[], i: number, podUid: string, containerId?: string): Layout {
  if (containerId !== undefined) return { podUid, containerId, end: i + 1 };
  const id = c[i + 1] === undefined ? undefined : CONTAINER.exec(c[i + 1]!)?.[1];
  return { podUid, containerId: id, end: id === undefined ? i + 1 : i + 2 };
}

/**
 * cgroupfs driver: `kubepods[/burstable|/besteffort]/pod<uid>[/<container>]` starting at `c[i]`. Below a cgroup
 * namespace (`relative`) the path may start lower: at the QoS cgroup or at the pod.
 */
function cgroupfsLayout(c: readonly string[], i: number, relative: boolean): Layout | undefined {
  let j = i;
  if (c[j] === 'kubepods') j++;
  else if (!relative) return undefined;
  if (QOS.test(c[j] ?? '')) j++;
  const pod = CGROUPFS_POD.exec(c[j] ?? '');
  return pod ? belowPod(c, j, pod[1]!) : undefined;
}

/**
 * systemd driver: a chain of slices from the top (`kubepods.slice`, or `kubelet.slice/kubelet-kubepods.slice` for
 * a `--cgroup-root`), then `<kubepods>-<qos>.slice`, then `<kubepods>[-<qos>]-pod<uid_escaped>.slice`, then
 * `<runtime>-<id>.scope`, each name continuing its parent's as systemd requires. Below a cgroup namespace
 * (`relative`) the chain may start at any slice. The `<pod slice>:<runtime>:<id>` form stands alone too (containerd
 * in cgroupfs mode places it directly in its parent cgroup).
 */
function systemdLayout(c: readonly string[], i: number, relative: boolean): Layout | undefined {
  let j = i;
  let parent: string | undefined;
  // Slices down to the kubepods slice. Only root creates top-level slices and slices below slices.
  for (;;) {
    const first = c[j] ?? '';
    if (SYSTEMD_POD.test(first) || SYSTEMD_QOS.test(first)) break;
    const slice = SLICE.exec(first);
    if (!slice) return undefined;
    const name = slice[1]!;
    if (parent === undefined ? !relative && name.includes('-') : !isChild(name, parent)) return undefined;
    parent = name;
    j++;
    if (name === 'kubepods' || name.endsWith('-kubepods')) break;
  }
  const qos = SYSTEMD_QOS.exec(c[j] ?? '');
  if (qos) {
    if (parent === undefined ? !relative : qos[1] !== parent) return undefined;
    parent = `${qos[1]}-${qos[2]}`;
    j++;
  }
  const pod = SYSTEMD_POD.exec(c[j] ?? '');
  if (!pod) return undefined;
  const podParent = pod[2] === undefined ? pod[1]! : `${pod[1]}-${pod[2]}`;
  if (parent === undefined) {
    // The pod slice comes first: below a cgroup namespace, or the standalone runtime form.
    if (!relative && pod[4] === undefined) return undefined;
  } else if (podParent !== parent) {
    return undefined;
  }
  return belowPod(c, j, normalizePodUid(pod[3]!), pod[4]);
}

function isChild(name: string, parent: string): boolean {
  return name.startsWith(`${parent}-`) && !name.slice(parent.length + 1).includes('-');
}

/** Length of the node-container prefix `c` starts with (0 when none). */
function nodePrefix(c: readonly string[]): number {
  for (const prefix of NODE_PREFIXES) {
    if (prefix.every((re, k) => re.test(c[k] ?? ''))) return prefix.length;
  }
  return 0;
}

/**
 * What one cgroup path says. A pod is taken only in the kubelet's own layouts (cgroupfs or systemd driver), anchored
 * at the top of the hierarchy, below a node-container prefix (kind's `/docker/<id>`, containerd's service cgroup) or
 * below a cgroup namespace root (`/../…`, whose first component the kernel chooses, not the process). The OUTERMOST
 * pod wins: a process may own cgroups below its container (or in a delegated user slice) and name them after another
 * pod, so a pod-like component below the located container is refused (`ERR_WID_ATTEST_KUBERNETES_CGROUP_NESTED_POD`)
 * and a pod-like path outside the kubelet's layouts says nothing. A namespace-relative path without a pod says
 * something when its first component is a container (`/../<id>`), where the pod part is hidden above the root.
 */
function analysePath(path: string, line: string, where: Where): Found | undefined {
  const c = path.split('/').filter((x) => x !== '');
  let i = 0;
  while (c[i] === '..') i++;
  const relative = i > 0;
  if (!relative) i = nodePrefix(c);
  let layout = cgroupfsLayout(c, i, relative) ?? systemdLayout(c, i, relative);
  if (layout === undefined && relative) {
    const containerId = c[i] === undefined ? undefined : CONTAINER.exec(c[i]!)?.[1];
    if (containerId !== undefined) layout = { podUid: undefined, containerId, end: i + 1 };
  }
  if (layout === undefined) return undefined;
  for (let k = layout.end; k < c.length; k++) {
    const inner = POD_LIKE.exec(c[k]!);
    if (!inner) continue;
    const innerUid = normalizePodUid(inner[1]!);
    const pods = layout.podUid === undefined ? innerUid : `${layout.podUid}, ${innerUid}`;
    throw new KubernetesAttestorError(
      'ERR_WID_ATTEST_KUBERNETES_CGROUP_NESTED_POD',
      `${where.file}${where.pid === undefined ? '' : ` (pid ${where.pid})`} names pod ${innerUid} in a cgroup below ` +
        `${layout.podUid === undefined ? 'container' : `pod ${layout.podUid}, container`} ${layout.containerId ?? '(none)'}: ` +
        "cgroups below a container are the workload's own; refusing it",
      { pid: where.pid, file: where.file, line, podUid: pods, containerId: layout.containerId },
    );
  }
  return { podUid: layout.podUid, containerId: layout.containerId, line };
}

/** Merges what the lines say; two different pod UIDs or container IDs are an error, never a guess. */
function merge(found: readonly Found[], file: string, pid: number | undefined): ContainerLocation {
  // Lines that name a pod outrank namespace-relative lines without one.
  const withPod = found.filter((f) => f.podUid !== undefined);
  const use = withPod.length > 0 ? withPod : found;
  let podUid: string | undefined;
  let containerId: string | undefined;
  for (const f of use) {
    if (f.podUid !== undefined) {
      if (podUid !== undefined && podUid !== f.podUid) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT',
          `${file}${pid === undefined ? '' : ` (pid ${pid})`} names two pods: ${podUid} and ${f.podUid}`,
          { pid, file, line: f.line, podUid: `${podUid}, ${f.podUid}` },
        );
      }
      podUid = f.podUid;
    }
    if (f.containerId !== undefined) {
      if (containerId !== undefined && containerId !== f.containerId) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT',
          `${file}${pid === undefined ? '' : ` (pid ${pid})`} names two containers: ${containerId} and ${f.containerId}`,
          { pid, file, line: f.line, containerId: `${containerId}, ${f.containerId}` },
        );
      }
      containerId = f.containerId;
    }
  }
  return {
    ...(podUid === undefined ? {} : { podUid }),
    ...(containerId === undefined ? {} : { containerId }),
  };
}

function fromCgroup(text: string, file: string, pid: number | undefined): ContainerLocation {
  const found: Found[] = [];
  for (const line of lines(text, file, pid)) {
    const m = CGROUP_LINE.exec(line);
    if (!m) throw malformed(file, pid, 'has a line that is not "hierarchy-ID:controllers:/path"', line);
    const f = analysePath(m[3]!, line, { file, pid });
    if (f) found.push(f);
  }
  return merge(found, file, pid);
}

/** mountinfo escapes space, tab, newline and backslash as octal (proc(5)). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

function fromMountinfo(text: string, file: string, pid: number | undefined): ContainerLocation {
  const found: Found[] = [];
  for (const line of lines(text, file, pid)) {
    // proc(5): id parent major:minor root mount-point options [optional...] - fstype source super-options
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0 || sep + 3 > fields.length || !/^\d+:\d+$/.test(fields[2]!)) {
      throw malformed(file, pid, 'has a line that is not a mountinfo entry (proc(5))', line);
    }
    const fstype = fields[sep + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const f = analysePath(unescapeMountField(fields[3]!), line, { file, pid });
    if (f) found.push(f);
  }
  return merge(found, file, pid);
}

/**
 * Finds the pod UID and container ID of a process from the text of its /proc/<pid>/cgroup, falling back to the
 * cgroup mounts in /proc/<pid>/mountinfo (when given) only when the cgroup file yields nothing (the workload can
 * write its own mount table; it cannot move itself between cgroups it does not own). Handles cgroup v1 and v2, the
 * cgroupfs and systemd drivers (pod UIDs escaped with `_`), `docker-`, `cri-containerd-`, `crio-`,
 * `:cri-containerd:` and plain IDs, cgroup namespaces (`/../`) and kind-style nesting. A pod is taken only in the
 * kubelet's own layouts (`/kubepods[/<qos>]/pod<uid>/<id>`, `/kubepods.slice/[kubepods-<qos>.slice/]
 * kubepods[-<qos>]-pod<uid>.slice/<runtime>-<id>.scope`), at the top of the hierarchy, below a node container
 * (`/docker/<id>/`, `/kubelet.slice/`, `/system.slice/containerd.service/`) or below a cgroup namespace root; a
 * `pod<uid>` anywhere else (e.g. in a cgroup a user created in its delegated slice) names nothing. Not in a
 * container: `{}`. Pure: no I/O.
 *
 * Throws `ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT` when lines name two pods or two containers,
 * `ERR_WID_ATTEST_KUBERNETES_CGROUP_NESTED_POD` when a pod-named cgroup sits below the located container (the
 * outermost pod is the real one; cgroups below a container are the workload's own), and
 * `ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED` for text that is not a cgroup/mountinfo file (empty, binary, truncated).
 *
 * @example
 * locateContainer({
 *   cgroup: '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod7c4f3a1e_5b2d_4e8f_9a0c_1d2e3f4a5b6c.slice/cri-containerd-4c5d…5c4d.scope\n',
 * });
 * // => { podUid: '7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c', containerId: '4c5d…5c4d' }
 */
export function locateContainer(input: LocateContainerInput, context: LocateContainerContext = {}): ContainerLocation {
  const { pid } = context;
  const fromCg = fromCgroup(input.cgroup, context.cgroupFile ?? 'cgroup file', pid);
  if (fromCg.podUid !== undefined || fromCg.containerId !== undefined || input.mountinfo === undefined) return fromCg;
  return fromMountinfo(input.mountinfo, context.mountinfoFile ?? 'mountinfo file', pid);
}
