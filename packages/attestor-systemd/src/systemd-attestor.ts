import { type Logger, silentLogger } from '@wid/spiffe-id';
import { SystemdAttestorError } from './errors.js';

import { readProc } from './internal/proc.js';
import { systemdUnitFromCgroup } from './systemd-unit.js';

/** The pino-compatible logger the attestor writes debug lines to (`(obj, msg)`). */
export type SystemdAttestorLogger = Logger;

/** Options of {@link createSystemdAttestor}. Every field is optional. */
export interface SystemdAttestorOptions {
  /** Where procfs is mounted. Default `/proc`. */
  readonly procRoot?: string;
  /** Largest /proc/<pid>/cgroup accepted, in bytes; larger files are refused as malformed. Default 65536. */
  readonly maxProcFileBytes?: number;
  /** Where debug lines go (pino-compatible). Default: silent. */
  readonly logger?: SystemdAttestorLogger;
}

/**
 * Attributes the systemd attestor returns; the server publishes them as `workload.systemd.*`.
 * A type alias (not an interface) so it is assignable to `Record<string, unknown>`.
 */
export type SystemdAttributes = {
  /** The system unit without `.service`: `nginx`, `getty@tty1`, `user@1000` (a user manager). */
  readonly service: string;
  /**
   * Only for processes of a user manager (`user@<uid>.service/…/app.service`): the user unit without `.service`
   * (`app`). Kept apart from `service` so a user cannot name a unit to look like a system service.
   */
  readonly user_service?: string;
};

/** The systemd attestor. */
export interface SystemdAttestor {
  /** Always `systemd`. */
  readonly name: 'systemd';
  /**
   * Reads /proc/<pid>/cgroup and returns the process's service. Rejects with a {@link SystemdAttestorError}; code
   * `ERR_WID_ATTEST_SYSTEMD_NO_UNIT` (with `reason`) when the process runs in a scope, a bare slice or no unit.
   */
  attest(pid: number, signal?: AbortSignal): Promise<SystemdAttributes>;
}

function badOption(key: string, value: unknown, accepted: string): SystemdAttestorError {
  return new SystemdAttestorError(
    'ERR_WID_ATTEST_SYSTEMD_BAD_OPTION',
    `createSystemdAttestor: option ${key} is ${JSON.stringify(value) ?? String(value)}; expected ${accepted}`,
    { key },
  );
}

function stripService(unit: string): string {
  return unit.slice(0, -'.service'.length);
}

/**
 * Creates the systemd attestor: `attest(pid)` → `{ service }` (plus `user_service` inside a user manager), derived
 * from /proc/<pid>/cgroup as `sd_pid_get_unit` does. No D-Bus. A process with no service is a soft failure: the
 * promise rejects with code `ERR_WID_ATTEST_SYSTEMD_NO_UNIT` and a `reason`, which the Workload API server logs
 * while leaving `workload.systemd` absent.
 *
 * @example
 * import { createSystemdAttestor } from '@wid/attestor-systemd';
 *
 * const systemd = createSystemdAttestor();
 * await systemd.attest(pid); // { service: 'nginx' }
 */
export function createSystemdAttestor(options: SystemdAttestorOptions = {}): SystemdAttestor {
  if (typeof options !== 'object' || options === null) throw badOption('options', options, 'an object');
  const procRoot = options.procRoot ?? '/proc';
  if (typeof procRoot !== 'string' || procRoot === '' || procRoot.includes('\0')) {
    throw badOption('procRoot', procRoot, 'a non-empty path');
  }
  const maxBytes = options.maxProcFileBytes ?? 65536;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw badOption('maxProcFileBytes', maxBytes, 'an integer >= 1');
  }
  const logger = options.logger ?? silentLogger;
  for (const m of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger?.[m] !== 'function') {
      throw badOption('logger', `{ ${m}: ${typeof logger?.[m]} }`, 'a pino-like logger');
    }
  }

  async function attest(pid: number, signal?: AbortSignal): Promise<SystemdAttributes> {
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new SystemdAttestorError(
        'ERR_WID_ATTEST_SYSTEMD_BAD_PID',
        `cannot attest pid ${String(pid)}: not a positive integer`,
      );
    }
    const { file, text } = await readProc(procRoot, pid, 'cgroup', maxBytes, signal);
    const result = systemdUnitFromCgroup(text, { pid, file });
    if (!result.found) {
      const what = result.unit === undefined ? '' : ` (${result.unit})`;
      const where = result.cgroupPath === undefined ? '' : ` at cgroup ${result.cgroupPath}`;
      logger.debug({ pid, reason: result.reason, cgroupPath: result.cgroupPath }, 'process has no systemd service');
      throw new SystemdAttestorError(
        'ERR_WID_ATTEST_SYSTEMD_NO_UNIT',
        `pid ${pid} is not in a systemd service: ${result.reason}${what}${where}`,
        { pid, file, reason: result.reason, cgroupPath: result.cgroupPath, unit: result.unit },
      );
    }
    const userService = result.userUnit?.endsWith('.service') ? stripService(result.userUnit) : undefined;
    return {
      service: stripService(result.unit),
      ...(userService === undefined ? {} : { user_service: userService }),
    };
  }

  return Object.freeze({ name: 'systemd' as const, attest });
}
