import { SystemdAttestorError, type SystemdNoUnitReason } from './errors.js';

/** The unit a process runs in, as {@link systemdUnitFromCgroup} found it. */
export type SystemdUnitResult =
  | {
      readonly found: true;
      /** The cgroup path the unit was read from (v2 unified line, or v1 `name=systemd`). */
      readonly cgroupPath: string;
      /** The system unit, e.g. `nginx.service`, `getty@tty1.service`, `user@1000.service`. */
      readonly unit: string;
      /** For units of a user manager (`user@<uid>.service/…/<unit>`): the unit inside it, e.g. `app.service`. */
      readonly userUnit?: string;
    }
  | {
      readonly found: false;
      /** Why there is no service. */
      readonly reason: SystemdNoUnitReason;
      /** The cgroup path examined (absent for `not-systemd`). */
      readonly cgroupPath?: string;
      /** The unit that is not a service (e.g. `session-2.scope`), when there is one. */
      readonly unit?: string;
    };

// systemd's unit_type_table (src/basic/unit-def.c).
const UNIT_TYPES = new Set([
  'service',
  'mount',
  'swap',
  'socket',
  'target',
  'device',
  'automount',
  'timer',
  'path',
  'slice',
  'scope',
]);
// VALID_CHARS of src/basic/unit-name.c plus '@' (checked separately for position).
const UNIT_CHARS = /^[A-Za-z0-9:\-_.\\@]+$/;
// UNIT_NAME_MAX is 256 including the terminating NUL.
const UNIT_NAME_MAX = 256;

/** unit_name_is_valid(n, UNIT_NAME_PLAIN | UNIT_NAME_INSTANCE): `foo.service` or `foo@bar.service`, no templates. */
function isValidUnitName(n: string): boolean {
  if (n === '' || n.length >= UNIT_NAME_MAX) return false;
  const dot = n.lastIndexOf('.');
  if (dot <= 0 || !UNIT_TYPES.has(n.slice(dot + 1))) return false;
  const prefix = n.slice(0, dot);
  if (!UNIT_CHARS.test(prefix)) return false;
  const at = prefix.indexOf('@');
  if (at === 0) return false;
  return at === -1 || at < prefix.length - 1;
}

/** cg_unescape (src/basic/cgroup-util.c): cgroup names that would clash are stored with a leading `_`. */
function cgUnescape(component: string): string {
  return component.startsWith('_') ? component.slice(1) : component;
}

function isSlice(component: string): boolean {
  const name = cgUnescape(component);
  return name.endsWith('.slice') && isValidUnitName(name);
}

/** skip_slices + cg_path_decode_unit: the first component below the leading slices, if it is a valid unit. */
function unitAt(components: readonly string[], start: number): { index: number; unit: string | undefined } {
  let i = start;
  while (i < components.length && isSlice(components[i]!)) i++;
  const c = components[i];
  if (c === undefined) return { index: i, unit: undefined };
  const name = cgUnescape(c);
  return { index: i, unit: isValidUnitName(name) ? name : undefined };
}

const LINE = /^(\d+):([^:]*):(.*)$/;
// Control characters other than newline: procfs never writes them into /proc/<pid>/cgroup.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding binary garbage is the point.
const BINARY = /[\x00-\x09\x0b-\x1f\x7f]/;

function malformed(what: string, line: string | undefined, where: { pid?: number; file?: string }) {
  return new SystemdAttestorError(
    'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED',
    `${where.file ?? 'cgroup file'}${where.pid === undefined ? '' : ` (pid ${where.pid})`} ${what}`,
    { pid: where.pid, file: where.file, line: line?.slice(0, 200) },
  );
}

/**
 * The cgroup path systemd tracks a process under, from the text of /proc/<pid>/cgroup (cgroups(7): lines
 * `hierarchy-ID:controller-list:path`): the v1 `name=systemd` hierarchy when present, else the v2 `0::` line.
 * Throws `ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED` for text that is not a cgroup file.
 */
function systemdCgroupPath(text: string, where: { pid?: number; file?: string }): string | undefined {
  if (text === '') throw malformed('is empty; /proc/<pid>/cgroup always has at least one line', undefined, where);
  const bin = BINARY.exec(text);
  if (bin) {
    throw malformed(
      `contains binary data (byte 0x${bin[0].charCodeAt(0).toString(16).padStart(2, '0')} at offset ${bin.index})`,
      undefined,
      where,
    );
  }
  if (!text.endsWith('\n')) {
    const last = text.slice(text.lastIndexOf('\n') + 1);
    throw malformed('is truncated: its last line has no newline', last, where);
  }
  let unified: string | undefined;
  let named: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const m = LINE.exec(line);
    if (!m || !m[3]!.startsWith('/')) {
      throw malformed('has a line that is not "hierarchy-ID:controllers:/path"', line, where);
    }
    const [, id, controllers, path] = m as unknown as [string, string, string, string];
    if (id === '0' && controllers === '') {
      if (unified !== undefined) throw malformed('has two cgroup v2 ("0::") lines', line, where);
      unified = path;
    } else if (controllers.split(',').includes('name=systemd')) {
      if (named !== undefined) throw malformed('has two "name=systemd" lines', line, where);
      named = path;
    }
  }
  return named ?? unified;
}

/**
 * Derives the systemd unit of a process from the text of its /proc/<pid>/cgroup, the way systemd's own
 * `sd_pid_get_unit` and `sd_pid_get_user_unit` do (cg_path_get_unit / cg_path_get_user_unit): skip the leading
 * slices, unescape the next path component and check it is a valid unit name. Works on cgroup v2 (unified) and
 * v1/hybrid (`name=systemd`). Pure: no I/O. Throws `ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED` on text that is not a
 * cgroup file (empty, binary, truncated, bad lines).
 *
 * @example
 * systemdUnitFromCgroup('0::/system.slice/nginx.service\n');
 * // => { found: true, cgroupPath: '/system.slice/nginx.service', unit: 'nginx.service' }
 * systemdUnitFromCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/web.service\n');
 * // => { found: true, ..., unit: 'user@1000.service', userUnit: 'web.service' }
 */
export function systemdUnitFromCgroup(
  text: string,
  where: { readonly pid?: number; readonly file?: string } = {},
): SystemdUnitResult {
  const cgroupPath = systemdCgroupPath(text, where);
  if (cgroupPath === undefined) return { found: false, reason: 'not-systemd' };
  const components = cgroupPath.split('/').filter((c) => c !== '');
  // A path relative to another cgroup namespace ("/../../x.service") hides the slices above it: the unit cannot be
  // known, and guessing from the visible tail would let a namespaced process pick its own name.
  if (components[0] === '..') return { found: false, reason: 'cgroup-namespace', cgroupPath };
  const { index, unit } = unitAt(components, 0);
  if (unit === undefined) {
    return { found: false, reason: index > 0 && index === components.length ? 'slice' : 'no-unit', cgroupPath };
  }
  if (unit.endsWith('.scope')) return { found: false, reason: 'scope', cgroupPath, unit };
  if (!unit.endsWith('.service')) return { found: false, reason: 'no-unit', cgroupPath, unit };
  if (/^user@[^@]+\.service$/.test(unit)) {
    const inner = unitAt(components, index + 1).unit;
    if (inner !== undefined) return { found: true, cgroupPath, unit, userUnit: inner };
  }
  return { found: true, cgroupPath, unit };
}
