import { isIP } from 'node:net';
import { type WorkloadApiProtoErrorCode, WorkloadEndpointAddressError } from './errors.js';

/** A Workload Endpoint on a Unix domain socket. */
export interface UnixEndpointAddress {
  readonly kind: 'unix';
  /** Absolute filesystem path of the socket (percent-decoded). */
  readonly path: string;
  /** The gRPC target string to dial it with (`unix:///abs/path`). */
  readonly target: string;
}

/** A Workload Endpoint on TCP (only where the source address authenticates the caller; Workload Endpoint §4). */
export interface TcpEndpointAddress {
  readonly kind: 'tcp';
  /** IP literal, without brackets for IPv6 (`127.0.0.1`, `::1`). */
  readonly host: string;
  /** Port, 1–65535. */
  readonly port: number;
  /** The gRPC target string to dial it with (`ipv4:127.0.0.1:8081`, `ipv6:[::1]:8081`; no DNS lookup). */
  readonly target: string;
}

/** A parsed Workload Endpoint address. */
export type EndpointAddress = UnixEndpointAddress | TcpEndpointAddress;

function fail(code: WorkloadApiProtoErrorCode, message: string, input: string, cause?: unknown): never {
  throw new WorkloadEndpointAddressError(code, message, input, cause === undefined ? undefined : { cause });
}

/**
 * Parses a Workload Endpoint address such as the value of `SPIFFE_ENDPOINT_SOCKET` (Workload Endpoint §4).
 *
 * Accepted: `unix:///abs/path`, `unix:/abs/path`, `tcp://<IP>:<port>` (IP literal, port required, no path).
 * Rejected (stricter than gRPC's own parser, as the standard says): a unix URI with an authority
 * (`unix://host/path`), a relative unix path (`unix:relative`), user info, query or fragment, host names, a missing
 * port. Error messages use go-spiffe's wording; each failure has its own `code`.
 *
 * @throws {@link WorkloadEndpointAddressError}
 * @example
 * parseEndpointAddress('unix:///run/spiffe/agent.sock');
 * // => { kind: 'unix', path: '/run/spiffe/agent.sock', target: 'unix:///run/spiffe/agent.sock' }
 * parseEndpointAddress('tcp://127.0.0.1:8081');
 * // => { kind: 'tcp', host: '127.0.0.1', port: 8081, target: 'ipv4:127.0.0.1:8081' }
 */
export function parseEndpointAddress(address: string): EndpointAddress {
  if (typeof address !== 'string' || address === '') {
    fail('ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI', 'workload endpoint socket address is empty', String(address));
  }
  // The WHATWG parser silently strips tabs/newlines and leading/trailing spaces; a socket URI with any of them is a
  // configuration mistake, not something to "fix".
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u0020\u007f\\]/.test(address)) {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI',
      `workload endpoint socket is not a valid URI: ${JSON.stringify(address)} contains whitespace, a control character or a backslash`,
      address,
    );
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch (cause) {
    return fail(
      'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI',
      `workload endpoint socket is not a valid URI: ${JSON.stringify(address)}`,
      address,
      cause,
    );
  }
  if (url.protocol === 'unix:') return parseUnix(url, address);
  if (url.protocol === 'tcp:') return parseTcp(url, address);
  return fail(
    'ERR_WID_WORKLOAD_ENDPOINT_BAD_SCHEME',
    `workload endpoint socket URI must have a "tcp" or "unix" scheme (got ${JSON.stringify(url.protocol.slice(0, -1))})`,
    address,
  );
}

function hasAuthority(address: string): boolean {
  // `scheme://...`: the WHATWG URL object does not say whether "//" was present when the host is empty.
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(address);
}

function checkCommon(url: URL, address: string, kind: 'unix' | 'tcp'): void {
  if (url.username !== '' || url.password !== '') {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_USERINFO',
      `workload endpoint ${kind} socket URI must not include user info`,
      address,
    );
  }
  if (url.search !== '' || address.includes('?')) {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_QUERY',
      `workload endpoint ${kind} socket URI must not include query values`,
      address,
    );
  }
  if (url.hash !== '' || address.includes('#')) {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_FRAGMENT',
      `workload endpoint ${kind} socket URI must not include a fragment`,
      address,
    );
  }
}

function parseUnix(url: URL, address: string): UnixEndpointAddress {
  checkCommon(url, address, 'unix');
  if (url.host !== '') {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_UNIX_AUTHORITY',
      `workload endpoint unix socket URI must not include an authority (got host ${JSON.stringify(url.host)}); use unix:///absolute/path`,
      address,
    );
  }
  if (url.pathname === '') {
    fail('ERR_WID_WORKLOAD_ENDPOINT_UNIX_NO_PATH', 'workload endpoint unix socket URI must include a path', address);
  }
  if (!url.pathname.startsWith('/')) {
    // `unix:relative` is an opaque URI: gRPC accepts it as a relative path, the standard does not.
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE',
      `workload endpoint unix socket URI must not be opaque: ${JSON.stringify(address)} is a relative path; use unix:///absolute/path`,
      address,
    );
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch (cause) {
    return fail(
      'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI',
      `workload endpoint socket is not a valid URI: bad percent-encoding in ${JSON.stringify(address)}`,
      address,
      cause,
    );
  }
  if (path.includes('\u0000')) {
    fail('ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI', 'workload endpoint unix socket path must not contain NUL', address);
  }
  return Object.freeze({ kind: 'unix', path, target: `unix://${path}` });
}

function parseTcp(url: URL, address: string): TcpEndpointAddress {
  checkCommon(url, address, 'tcp');
  if (!hasAuthority(address)) {
    fail('ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_HOST', 'workload endpoint tcp socket URI must not be opaque', address);
  }
  if (url.hostname === '') {
    fail('ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_HOST', 'workload endpoint tcp socket URI must include a host', address);
  }
  if (url.pathname !== '') {
    fail('ERR_WID_WORKLOAD_ENDPOINT_TCP_PATH', 'workload endpoint tcp socket URI must not include a path', address);
  }
  const bracketed = url.hostname.startsWith('[') && url.hostname.endsWith(']');
  const host = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  const family = isIP(host);
  if (family === 0 || (family === 6) !== bracketed || host.includes('%')) {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_TCP_NOT_IP',
      `workload endpoint tcp socket URI host component must be an IP:port (got ${JSON.stringify(url.hostname)})`,
      address,
    );
  }
  const port = url.port === '' ? 0 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(
      'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_PORT',
      'workload endpoint tcp socket URI host component must include a port (1-65535)',
      address,
    );
  }
  const target = family === 4 ? `ipv4:${host}:${port}` : `ipv6:[${host}]:${port}`;
  return Object.freeze({ kind: 'tcp', host, port, target });
}
