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
  /** Text of /proc/<pid>/mountinfo; consulted only when the cgroup file yields nothing. */
  readonly mountinfo?: string;
}

/** Names used in errors (all optional). */
export interface LocateContainerContext {
  readonly pid?: number;
  readonly cgroupFile?: string;
  readonly mountinfoFile?: string;
}

// A pod's cgroup: `pod<uid>` (cgroupfs driver) or `<parent>-pod<uid_with_underscores>.slice` (systemd driver, where
// systemd slice naming forbids '-' inside a name component, so the kubelet writes '_'). Static pods have 32 hex
// digits without dashes. Some containerd setups show the runtime's `slice:prefix:id` cgroupsPath literally.
const POD =
  /^(?:[A-Za-z0-9_.-]*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?(?::(?:cri-containerd|crio|docker|containerd):([0-9a-f]{64}))?$/;
// A container's cgroup below its pod: a plain ID (cgroupfs driver) or `<runtime>-<id>.scope` (systemd driver).
// `crio-conmon-<id>.scope` (CRI-O's monitor process) deliberately does not match: it is not the container.
const CONTAINER = /^(?:(?:docker|cri-containerd|crio|containerd)-)?([0-9a-f]{64})(?:\.scope)?$/;
const CGROUP_LINE = /^(\d+):([^:]*):(\/.*)$/;
// Control characters other than tab and newline: procfs never writes them in these files.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding binary garbage is the point.
const BINARY = /[\x00-\x08\x0b-\x1f\x7f]/;

interface Found {
  readonly podUid: string | undefined;
  readonly containerId: string | undefined;
  readonly line: string;
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

/**
 * What one cgroup path says. The LAST pod component wins and the container is its direct child, so in kind-style
 * nesting (`/docker/<node-id>/kubepods/…/pod<uid>/<id>`) the node container's ID is never taken. A path without a
 * pod component says something only when it is relative to another cgroup namespace (`/../<id>`), where the pod
 * part is hidden above the namespace root.
 */
function analysePath(path: string, line: string): Found | undefined {
  const components = path.split('/').filter((c) => c !== '');
  for (let i = components.length - 1; i >= 0; i--) {
    const pod = POD.exec(components[i]!);
    if (!pod) continue;
    const child = components[i + 1];
    const containerId = pod[2] ?? (child === undefined ? undefined : CONTAINER.exec(child)?.[1]);
    return { podUid: normalizePodUid(pod[1]!), containerId, line };
  }
  if (components[0] === '..') {
    const first = components.find((c) => c !== '..');
    const containerId = first === undefined ? undefined : CONTAINER.exec(first)?.[1];
    if (containerId !== undefined) return { podUid: undefined, containerId, line };
  }
  return undefined;
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
    const f = analysePath(m[3]!, line);
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
    const f = analysePath(unescapeMountField(fields[3]!), line);
    if (f) found.push(f);
  }
  return merge(found, file, pid);
}

/**
 * Finds the pod UID and container ID of a process from the text of its /proc/<pid>/cgroup, falling back to the
 * cgroup mounts in /proc/<pid>/mountinfo only when the cgroup file yields nothing (the workload can write its own
 * mount table; it cannot move itself between cgroups it does not own). Handles cgroup v1 and v2, the cgroupfs and
 * systemd drivers (pod UIDs escaped with `_`), `docker-`, `cri-containerd-`, `crio-`, `:cri-containerd:` and plain
 * IDs, cgroup namespaces (`/../`) and kind-style nesting. Not in a container: `{}`. Pure: no I/O.
 *
 * Throws `ERR_WID_ATTEST_KUBERNETES_CGROUP_CONFLICT` when lines name two pods or two containers, and
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
