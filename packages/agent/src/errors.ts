import { WidError } from '@wid/spiffe-id';

// Codes are append-only: operators' scripts and log queries match on them.

/**
 * Every code @wid/agent throws, with what the user should do (docs/errors.md is generated from this).
 *
 * @example
 * AGENT_ERROR_CODES.ERR_WID_AGENT_CONFIG_UNKNOWN_KEY; // 'Remove or correct the key ...'
 */
export const AGENT_ERROR_CODES = {
  ERR_WID_AGENT_CONFIG_READ:
    'The configuration (or a workload identity file it names) could not be read: check the path and its permissions.',
  ERR_WID_AGENT_CONFIG_SYNTAX:
    'Fix the YAML syntax at the reported line and column (one YAML document per config file).',
  ERR_WID_AGENT_CONFIG_UNKNOWN_KEY:
    'Remove or correct the key named in the error; the message lists the keys accepted at that place.',
  ERR_WID_AGENT_CONFIG_MISSING_KEY: 'Add the required key named in the error.',
  ERR_WID_AGENT_CONFIG_INVALID_VALUE:
    'Give the key named in the error a value of the type and form the message describes.',
  ERR_WID_AGENT_CONFIG_CONFLICT:
    'Two settings cannot be used together (the error names both): remove one of them or change one value.',
  ERR_WID_AGENT_CONFIG_UNSUPPORTED:
    'The key or value is valid tbot configuration that wid-agent does not support yet: remove it or choose a supported alternative.',
  ERR_WID_AGENT_CONFIG_WORKLOAD_IDENTITY:
    'A workload identity resource (inline, in a file, or translated from `svids`) is invalid: fix it at the reported key and line (the cause carries the rule engine code).',
  ERR_WID_AGENT_ATTESTOR_UNAVAILABLE:
    'An attestor the configuration enables cannot run here (see the cause): fix its settings or disable it.',
  ERR_WID_AGENT_START_FAILED:
    'The agent could not start (see the cause: often the socket is in use or its directory cannot be created); nothing was left running.',
  ERR_WID_AGENT_USAGE: 'Fix the command line: run `wid-agent <command> --help` for the accepted options.',
  ERR_WID_AGENT_EXPLAIN_ATTESTATION_FAILED:
    'The process could not be attested (it may have exited, or the agent lacks permission to read its /proc entry): check the PID and run as the agent user.',
  ERR_WID_AGENT_INSPECT_VERIFY_FAILED:
    'The SVID served by the Workload API does not verify against the served trust bundle: the agent is misconfigured or its CA state is damaged.',
} as const;

/** A code in {@link AGENT_ERROR_CODES}. */
export type AgentErrorCode = keyof typeof AGENT_ERROR_CODES;

/** Structured fields of an {@link AgentError}. */
export interface AgentErrorFields {
  /** The configuration key at fault, as a path (`services[0].selector.name`). */
  readonly key?: string | undefined;
  /** 1-based line of that key in `source`. */
  readonly line?: number | undefined;
  /** 1-based column of that key in `source`. */
  readonly column?: number | undefined;
  /** The file the key is in. */
  readonly source?: string | undefined;
  readonly cause?: unknown;
}

/**
 * Every error @wid/agent throws. Match on `code`; configuration errors also carry `key`, `line`, `column`, `source`.
 *
 * @example
 * try { loadAgentConfig('agent.yaml') } catch (e) {
 *   if (isWidError(e, 'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY')) console.error(e.key, e.line);
 * }
 */
export class AgentError extends WidError {
  declare readonly code: AgentErrorCode;
  readonly key: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly source: string | undefined;

  constructor(code: AgentErrorCode, message: string, fields: AgentErrorFields = {}) {
    super(code, message, { cause: fields.cause });
    this.key = fields.key;
    this.line = fields.line;
    this.column = fields.column;
    this.source = fields.source;
  }
}
