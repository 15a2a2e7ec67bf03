/**
 * @wid/agent: wid-agent, the reference workload identity agent — tbot's v2 YAML configuration, Workload API sockets,
 * attestors, and (standalone) in-process issuance with a local CA.
 *
 * @example
 * import { loadAgentConfig } from '@wid/agent';
 * const config = loadAgentConfig('agent.yaml');
 * console.log(config.trustDomain.name, config.services.map((s) => s.listen));
 */

export type { Agent, AgentOptions } from './agent.js';
export { createAgent } from './agent.js';
export type { BuildAttestorsOptions } from './attestors.js';
export { attestPid, buildAttestors, closeAttestors } from './attestors.js';
export type {
  AgentConfig,
  AttestorsConfig,
  KubernetesAttestorConfig,
  ParseAgentConfigOptions,
  ServiceConfig,
  StorageConfig,
  SystemdAttestorConfig,
  UnixAttestorConfig,
} from './config.js';
export { parseAgentConfig } from './config.js';
export type { LoadAgentConfigOptions } from './config-file.js';
export { loadAgentConfig, readResourceFiles } from './config-file.js';
export type { AgentErrorCode, AgentErrorFields } from './errors.js';
export { AGENT_ERROR_CODES, AgentError } from './errors.js';
export type { ExplainProcessOptions, ProcessExplanation, ServiceExplanation } from './explain-process.js';
export { explainProcess } from './explain-process.js';
export type { InspectedJwtSvid, InspectedX509Svid, InspectOptions, InspectReport } from './inspect.js';
export { formatInspectReport, inspectWorkloadApi } from './inspect.js';
export type { AgentLogger, AgentLoggerOptions, LogDestination } from './logger.js';
export { createAgentLogger, formatLogLine } from './logger.js';
export type { SystemdUnitOptions } from './systemd-unit.js';
export { renderSystemdUnit } from './systemd-unit.js';
