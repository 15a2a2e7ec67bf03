import { createKubernetesAttestor } from '@wid/attestor-kubernetes';
import { createSystemdAttestor } from '@wid/attestor-systemd';
import { createUnixAttestor } from '@wid/attestor-unix';
import type { WorkloadAttestor } from '@wid/workload-api-server';
import type { AttestorsConfig } from './config.js';
import { AgentError } from './errors.js';
import type { AgentLogger } from './logger.js';

/** Seams of {@link buildAttestors}. */
export interface BuildAttestorsOptions {
  /** Where procfs is mounted. Default `/proc`. */
  readonly procRoot?: string;
  readonly logger?: AgentLogger;
  /** Environment the kubernetes attestor reads the node name from (`WID_NODE_NAME`). Default: empty (127.0.0.1). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Builds the kubernetes attestor from the config block. Default: @wid/attestor-kubernetes with tbot's keys mapped. */
  readonly createKubernetesAttestor?: (config: AttestorsConfig['kubernetes']) => WorkloadAttestor;
}

function kubernetesAttestor(config: AttestorsConfig['kubernetes'], options: BuildAttestorsOptions): WorkloadAttestor {
  const k = config.kubelet;
  return createKubernetesAttestor({
    ...(options.procRoot === undefined ? {} : { procRoot: options.procRoot }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    env: options.env ?? {},
    kubelet: {
      ...(k.securePort === undefined ? {} : { securePort: k.securePort }),
      ...(k.readOnlyPort === undefined ? {} : { readOnlyPort: k.readOnlyPort }),
      ...(k.tokenPath === undefined ? {} : { tokenPath: k.tokenPath }),
      ...(k.caPath === undefined ? {} : { caPath: k.caPath }),
      ...(k.skipVerify ? { skipVerify: true } : {}),
      ...(k.anonymous ? { anonymous: true } : {}),
    },
  });
}

/**
 * Closes the attestors that hold resources (the kubernetes attestor's HTTP agent). Never throws.
 *
 * @example
 * await closeAttestors(attestors);
 */
export async function closeAttestors(attestors: readonly WorkloadAttestor[]): Promise<void> {
  await Promise.allSettled(
    attestors.map((a) => {
      const close = (a as { close?: () => Promise<void> }).close;
      return typeof close === 'function' ? close.call(a) : undefined;
    }),
  );
}

/**
 * Builds a service's attestors from its config: always `unix` first (it reads the peer credentials), then
 * `kubernetes` and `systemd` when enabled. Construction only: nothing is opened.
 *
 * @throws {AgentError} `ERR_WID_AGENT_ATTESTOR_UNAVAILABLE` naming the attestor, with the factory's error as cause.
 * @example
 * const attestors = buildAttestors(config.services[0].attestors, { logger });
 */
export function buildAttestors(config: AttestorsConfig, options: BuildAttestorsOptions = {}): WorkloadAttestor[] {
  const wrap = <T>(name: string, make: () => T): T => {
    try {
      return make();
    } catch (cause) {
      if (cause instanceof AgentError) throw cause;
      throw new AgentError(
        'ERR_WID_AGENT_ATTESTOR_UNAVAILABLE',
        `the ${name} attestor cannot be created: ${(cause as Error).message}`,
        { key: `attestors.${name}`, cause },
      );
    }
  };
  const out: WorkloadAttestor[] = [
    wrap('unix', () =>
      createUnixAttestor({
        ...(options.procRoot === undefined ? {} : { procRoot: options.procRoot }),
        ...(config.unix.binaryHashMaxSizeBytes === undefined
          ? {}
          : { hashMaxBytes: config.unix.binaryHashMaxSizeBytes }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      }),
    ),
  ];
  if (config.kubernetes.enabled) {
    const make = options.createKubernetesAttestor ?? ((c) => kubernetesAttestor(c, options));
    out.push(wrap('kubernetes', () => make(config.kubernetes)));
  }
  if (config.systemd.enabled) {
    out.push(
      wrap('systemd', () =>
        createSystemdAttestor({
          ...(options.procRoot === undefined ? {} : { procRoot: options.procRoot }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        }),
      ),
    );
  }
  return out;
}

/**
 * Attests `pid` with `attestors` the way the Workload API server does for a caller: `unix` failing is fatal, the
 * others fail soft (logged, their block absent); results merged as `workload.<name>` with `attested: true`.
 *
 * @throws {AgentError} `ERR_WID_AGENT_EXPLAIN_ATTESTATION_FAILED` when the unix attestor fails.
 * @example
 * const { attributes, failures } = await attestPid(4242, attestors);
 */
export async function attestPid(
  pid: number,
  attestors: readonly WorkloadAttestor[],
  signal?: AbortSignal,
): Promise<{ attributes: Record<string, unknown>; failures: { attestor: string; error: Error }[] }> {
  const workload: Record<string, unknown> = {};
  const failures: { attestor: string; error: Error }[] = [];
  const results = await Promise.allSettled(attestors.map((a) => a.attest(pid, signal)));
  results.forEach((r, i) => {
    const name = attestors[i]!.name;
    if (r.status === 'fulfilled') workload[name] = { ...r.value, attested: true };
    else if (name === 'unix') {
      throw new AgentError(
        'ERR_WID_AGENT_EXPLAIN_ATTESTATION_FAILED',
        `cannot attest pid ${pid}: ${(r.reason as Error).message}`,
        { cause: r.reason },
      );
    } else failures.push({ attestor: name, error: r.reason as Error });
  });
  return { attributes: { workload }, failures };
}
