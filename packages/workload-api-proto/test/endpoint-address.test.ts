import { isWidError } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';
import { parseEndpointAddress, WORKLOAD_API_PROTO_ERROR_CODES, WorkloadEndpointAddressError } from '../src/index.js';

describe('parseEndpointAddress', () => {
  it.each([
    ['unix:///run/spiffe/agent.sock', '/run/spiffe/agent.sock', 'unix:///run/spiffe/agent.sock'],
    ['unix:/run/spiffe/agent.sock', '/run/spiffe/agent.sock', 'unix:///run/spiffe/agent.sock'],
    ['unix:///tmp/a%20b.sock', '/tmp/a b.sock', 'unix:///tmp/a b.sock'],
    ['UNIX:///tmp/x', '/tmp/x', 'unix:///tmp/x'],
  ])('accepts the unix address %s', (input, path, target) => {
    expect(parseEndpointAddress(input)).toEqual({ kind: 'unix', path, target });
  });

  it.each([
    ['tcp://127.0.0.1:8081', '127.0.0.1', 8081, 'ipv4:127.0.0.1:8081'],
    ['tcp://10.1.2.3:1', '10.1.2.3', 1, 'ipv4:10.1.2.3:1'],
    ['tcp://[::1]:65535', '::1', 65535, 'ipv6:[::1]:65535'],
  ])('accepts the tcp address %s', (input, host, port, target) => {
    expect(parseEndpointAddress(input)).toEqual({ kind: 'tcp', host, port, target });
  });

  it('returns a frozen value', () => {
    expect(Object.isFrozen(parseEndpointAddress('unix:///tmp/x'))).toBe(true);
  });

  it.each([
    ['', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    ['/tmp/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    [' unix:///tmp/x', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    ['unix:///tmp/x\n', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    ['unix:///tmp/%zz', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    ['unix:///tmp/%00', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
    ['http://127.0.0.1:80', 'ERR_WID_WORKLOAD_ENDPOINT_BAD_SCHEME'],
    ['dns:///localhost:80', 'ERR_WID_WORKLOAD_ENDPOINT_BAD_SCHEME'],
    ['unix://host/tmp/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_AUTHORITY'],
    ['unix://tmp/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_AUTHORITY'],
    ['unix:relative/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE'],
    ['unix:agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE'],
    ['unix:', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_NO_PATH'],
    ['unix://', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_NO_PATH'],
    ['unix:///tmp/x?a=b', 'ERR_WID_WORKLOAD_ENDPOINT_QUERY'],
    ['unix:///tmp/x#frag', 'ERR_WID_WORKLOAD_ENDPOINT_FRAGMENT'],
    ['tcp://user@127.0.0.1:80', 'ERR_WID_WORKLOAD_ENDPOINT_USERINFO'],
    ['tcp://127.0.0.1:80?x', 'ERR_WID_WORKLOAD_ENDPOINT_QUERY'],
    ['tcp://127.0.0.1:80#x', 'ERR_WID_WORKLOAD_ENDPOINT_FRAGMENT'],
    ['tcp://localhost:8081', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NOT_IP'],
    ['tcp://1.2.3:8081', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NOT_IP'],
    ['tcp://127.0.0.1', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_PORT'],
    ['tcp://127.0.0.1:0', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_PORT'],
    ['tcp://127.0.0.1:8081/', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_PATH'],
    ['tcp://127.0.0.1:8081/path', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_PATH'],
    ['tcp:127.0.0.1:8081', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_HOST'],
    ['tcp://', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_HOST'],
    ['tcp://:8081', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
  ])('rejects %j with %s', (input, code) => {
    let error: unknown;
    try {
      parseEndpointAddress(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WorkloadEndpointAddressError);
    expect(isWidError(error, code)).toBe(true);
    expect((error as WorkloadEndpointAddressError).input).toBe(input);
    expect(code in WORKLOAD_API_PROTO_ERROR_CODES).toBe(true);
  });

  it("uses go-spiffe's wording", () => {
    expect(() => parseEndpointAddress('ftp://x')).toThrow(
      'workload endpoint socket URI must have a "tcp" or "unix" scheme',
    );
    expect(() => parseEndpointAddress('tcp://localhost:1')).toThrow(
      'workload endpoint tcp socket URI host component must be an IP:port',
    );
    expect(() => parseEndpointAddress('tcp://1.2.3.4')).toThrow(
      'workload endpoint tcp socket URI host component must include a port',
    );
    expect(() => parseEndpointAddress('tcp://1.2.3.4:1/x')).toThrow(
      'workload endpoint tcp socket URI must not include a path',
    );
  });
});
