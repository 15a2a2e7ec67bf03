import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { NamedText } from '@wid/rule-engine';
import { type AgentConfig, parseAgentConfig } from './config.js';
import { AgentError } from './errors.js';

/** Options of {@link loadAgentConfig}. */
export interface LoadAgentConfigOptions {
  /** Directory relative paths resolve against. Default: the config file's directory. */
  readonly baseDir?: string;
}

const RESOURCE_FILE = /\.(ya?ml|json)$/;

/**
 * Reads workload identity resources from a file, or from every `*.yaml`, `*.yml` and `*.json` file of a directory
 * (in name order).
 *
 * @example
 * readResourceFiles('/etc/wid/identities'); // [{ text, source: '/etc/wid/identities/web.yaml' }, ...]
 */
export function readResourceFiles(path: string): NamedText[] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => RESOURCE_FILE.test(f))
      .sort()
      .map((f) => ({ text: readFileSync(join(path, f), 'utf8'), source: join(path, f) }));
  }
  return [{ text: readFileSync(path, 'utf8'), source: path }];
}

/**
 * Reads and validates a wid-agent configuration file (see {@link parseAgentConfig}); relative paths in it resolve
 * against the file's directory.
 *
 * @throws {AgentError} `ERR_WID_AGENT_CONFIG_READ` when the file cannot be read, else as {@link parseAgentConfig}.
 * @example
 * const config = loadAgentConfig('examples/agent-standalone/agent.yaml');
 */
export function loadAgentConfig(path: string, options: LoadAgentConfigOptions = {}): AgentConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AgentError(
      'ERR_WID_AGENT_CONFIG_READ',
      `cannot read the configuration ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { source: path, cause },
    );
  }
  return parseAgentConfig(text, {
    source: path,
    baseDir: options.baseDir ?? dirname(file),
    readResources: readResourceFiles,
  });
}
