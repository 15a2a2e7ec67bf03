/**
 * @wid/attestor-systemd: the systemd service a process runs in, derived from /proc/<pid>/cgroup the way
 * systemd's own `sd_pid_get_unit` does (no D-Bus). It is the `systemd` workload attestor (`workload.systemd.service`)
 * of the wid agent and plugs into `@wid/workload-api-server` structurally.
 *
 * - {@link createSystemdAttestor}: `attest(pid)` → `{ service }` (plus `user_service` inside a user manager).
 * - {@link systemdUnitFromCgroup}: the pure parser, from the text of /proc/<pid>/cgroup.
 *
 * @example
 * import { createSystemdAttestor } from '@wid/attestor-systemd';
 * const systemd = createSystemdAttestor();
 * const { service } = await systemd.attest(pid); // 'nginx' for nginx.service
 */
export type { SystemdAttestorErrorCode, SystemdAttestorErrorFields, SystemdNoUnitReason } from './errors.js';
export { ATTEST_SYSTEMD_ERROR_CODES, SystemdAttestorError } from './errors.js';
export type {
  SystemdAttestor,
  SystemdAttestorLogger,
  SystemdAttestorOptions,
  SystemdAttributes,
} from './systemd-attestor.js';
export { createSystemdAttestor } from './systemd-attestor.js';
export type { SystemdUnitResult } from './systemd-unit.js';
export { systemdUnitFromCgroup } from './systemd-unit.js';
