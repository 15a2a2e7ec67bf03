import { explain } from '@wid/rule-engine';
import { attestPid, type BuildAttestorsOptions, buildAttestors, closeAttestors } from './attestors.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';

/** Options of {@link explainProcess}. */
export interface ExplainProcessOptions extends BuildAttestorsOptions {
  /** Only this service (index in `services`). Default: every service. */
  readonly service?: number;
  readonly signal?: AbortSignal;
}

/** The explanation of one service for one process. */
export interface ServiceExplanation {
  readonly service: number;
  readonly listen: string;
  /** SPIFFE IDs the process would receive on this socket. */
  readonly issued: readonly string[];
  /** rule-engine's rendered explanation. */
  readonly text: string;
}

/** What {@link explainProcess} returns. */
export interface ProcessExplanation {
  readonly pid: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Soft attestor failures (their attributes are absent). */
  readonly attestorFailures: readonly { attestor: string; message: string }[];
  readonly services: readonly ServiceExplanation[];
  /** Everything rendered for people. */
  readonly text: string;
}

/**
 * Attests `pid` with each service's configured attestors, as the agent would for a caller of that socket, and
 * explains per resource and rule (with @wid/rule-engine's `explain`) why it does or does not get an identity.
 *
 * @throws {AgentError} `ERR_WID_AGENT_EXPLAIN_ATTESTATION_FAILED` when the process cannot be attested;
 * `ERR_WID_AGENT_USAGE` for an unknown `service`.
 * @example
 * const { text } = await explainProcess(loadAgentConfig('agent.yaml'), 4242);
 * console.log(text);
 */
export async function explainProcess(
  config: AgentConfig,
  pid: number,
  options: ExplainProcessOptions = {},
): Promise<ProcessExplanation> {
  const services =
    options.service === undefined ? config.services : config.services.filter((s) => s.index === options.service);
  if (services.length === 0) {
    throw new AgentError(
      'ERR_WID_AGENT_USAGE',
      `--service ${options.service}: the config has services 0..${config.services.length - 1}`,
    );
  }
  const lines: string[] = [];
  const out: ServiceExplanation[] = [];
  let attributes: Record<string, unknown> = {};
  const failures: { attestor: string; message: string }[] = [];
  for (const s of services) {
    const attestors = buildAttestors(s.attestors, options);
    let result: Awaited<ReturnType<typeof attestPid>>;
    try {
      result = await attestPid(pid, attestors, options.signal);
    } finally {
      await closeAttestors(attestors);
    }
    attributes = result.attributes;
    for (const f of result.failures) failures.push({ attestor: f.attestor, message: f.error.message });
    const e = explain(config.identities, result.attributes, { ...s.selector, ttlSeconds: s.credentialTtlSeconds });
    const issued = e.decisions.flatMap((d) => (d.kind === 'issue' ? [d.spiffeId.toString()] : []));
    out.push({ service: s.index, listen: s.listen, issued, text: e.text });
    lines.push(`services[${s.index}] ${s.type} on ${s.listen}`);
    lines.push(`  attributes: ${JSON.stringify(result.attributes)}`);
    for (const f of result.failures)
      lines.push(`  attestor ${f.attestor} failed (its attributes are absent): ${f.error.message}`);
    lines.push(
      issued.length === 0
        ? '  result: NO identity (the Workload API answers PermissionDenied)'
        : `  result: ${issued.join(', ')}`,
    );
    for (const l of e.text.split('\n')) lines.push(`  ${l}`);
  }
  return { pid, attributes, attestorFailures: failures, services: out, text: lines.join('\n') };
}
