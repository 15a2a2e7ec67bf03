/**
 * @wid/attestor-systemd: systemd workload attestation: the unit a PID runs in, derived from /proc/<pid>/cgroup as sd_pid_get_unit does.
 */
export {};
