import { readFile } from 'node:fs/promises';
import { KubernetesJoinError } from './errors.js';

/** Where Kubernetes mounts the pod's default service-account token. */
export const DEFAULT_KUBERNETES_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options of {@link createKubernetesTokenReader}. */
export interface KubernetesTokenReaderOptions {
  /** Token file; wins over the environment. Default: `env.KUBERNETES_TOKEN_PATH`, else {@link DEFAULT_KUBERNETES_TOKEN_PATH}. */
  readonly tokenPath?: string;
  /** Environment to read `KUBERNETES_TOKEN_PATH` from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The agent half of the Kubernetes join method: the projected service-account token, fresh on every join. */
export interface KubernetesTokenReader {
  /** The file read. */
  readonly path: string;
  /** Reads the token again (the kubelet rotates projected tokens in place); trims surrounding whitespace. */
  read(): Promise<string>;
}

/**
 * Creates the agent half of the Kubernetes join method.
 *
 * @example
 * const reader = createKubernetesTokenReader(); // KUBERNETES_TOKEN_PATH or the default path
 * const token = await reader.read();            // send to the server on each join
 */
export function createKubernetesTokenReader(options: KubernetesTokenReaderOptions = {}): KubernetesTokenReader {
  const env = options.env ?? process.env;
  const fromEnv = env['KUBERNETES_TOKEN_PATH'];
  const path = options.tokenPath ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_KUBERNETES_TOKEN_PATH);
  return {
    path,
    async read() {
      return readTokenFile(path);
    },
  };
}

/** Reads and trims a token file; typed errors for unreadable and empty files. */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const errno = (cause as { code?: string }).code ?? 'unknown';
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_TOKEN_UNREADABLE',
      `cannot read the service-account token at ${path} (${errno})`,
      { path },
      { cause },
    );
  }
  const token = text.trim();
  if (token === '') {
    throw new KubernetesJoinError('ERR_WID_JOIN_KUBERNETES_TOKEN_EMPTY', `the token file ${path} is empty`, { path });
  }
  return token;
}
