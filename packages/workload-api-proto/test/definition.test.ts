import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createWorkloadApiMetadata,
  fromProtoStruct,
  loadWorkloadApiDefinition,
  SECURITY_HEADER_KEY,
  SECURITY_HEADER_VALUE,
  toProtoStruct,
  workloadProtoPath,
} from '../src/index.js';

describe('loadWorkloadApiDefinition', () => {
  it('is memoised', () => {
    expect(loadWorkloadApiDefinition()).toBe(loadWorkloadApiDefinition());
  });

  it('describes all seven methods on the package-less wire paths', () => {
    const { service } = loadWorkloadApiDefinition();
    const methods = Object.fromEntries(
      Object.entries(service).map(([name, m]) => [name, [m.path, m.requestStream, m.responseStream]]),
    );
    expect(methods).toEqual({
      FetchX509SVID: ['/SpiffeWorkloadAPI/FetchX509SVID', false, true],
      FetchX509Bundles: ['/SpiffeWorkloadAPI/FetchX509Bundles', false, true],
      FetchJWTSVID: ['/SpiffeWorkloadAPI/FetchJWTSVID', false, false],
      FetchJWTBundles: ['/SpiffeWorkloadAPI/FetchJWTBundles', false, true],
      ValidateJWTSVID: ['/SpiffeWorkloadAPI/ValidateJWTSVID', false, false],
      FetchWITSVID: ['/SpiffeWorkloadAPI/FetchWITSVID', false, true],
      FetchWITBundles: ['/SpiffeWorkloadAPI/FetchWITBundles', false, true],
    });
  });

  it('ships a proto without a package statement that imports struct.proto', () => {
    const text = readFileSync(workloadProtoPath(), 'utf8');
    expect(text).not.toMatch(/^\s*package\s/m);
    expect(text).toContain('import "google/protobuf/struct.proto";');
  });

  it('encodes X509SVIDResponse with the field numbers of the standard', () => {
    const { service } = loadWorkloadApiDefinition();
    const bytes = service.FetchX509SVID.responseSerialize({
      svids: [
        {
          spiffe_id: 'a',
          x509_svid: Buffer.from([1]),
          x509_svid_key: Buffer.from([2]),
          bundle: Buffer.from([3]),
          hint: 'h',
        },
      ],
      crl: [Buffer.from([4])],
      federated_bundles: { b: Buffer.from([5]) },
    });
    // svids=1 (len 17): spiffe_id=1 "a", x509_svid=2, x509_svid_key=3, bundle=4, hint=5; crl=2; federated_bundles=3
    expect([...bytes]).toEqual([
      0x0a, 15, 0x0a, 1, 97, 0x12, 1, 1, 0x1a, 1, 2, 0x22, 1, 3, 0x2a, 1, 104, 0x12, 1, 4, 0x1a, 6, 0x0a, 1, 98, 0x12,
      1, 5,
    ]);
    const decoded = service.FetchX509SVID.responseDeserialize(bytes);
    expect(decoded.svids[0]?.hint).toBe('h');
    expect([...(decoded.federated_bundles.b ?? [])]).toEqual([5]);
  });

  it('decodes an empty request with defaults filled in', () => {
    const { service } = loadWorkloadApiDefinition();
    expect(service.FetchJWTSVID.requestDeserialize(Buffer.alloc(0))).toEqual({ audience: [], spiffe_id: '' });
    expect(service.ValidateJWTSVID.requestDeserialize(Buffer.alloc(0))).toEqual({ audience: '', svid: '' });
  });

  it('round-trips JWT claims through google.protobuf.Struct', () => {
    const { service } = loadWorkloadApiDefinition();
    const claims = {
      sub: 'spiffe://example.org/web',
      aud: ['a', 'b'],
      exp: 1700000000,
      nested: { ok: true, none: null, list: [1, 'x', { y: false }] },
    };
    const bytes = service.ValidateJWTSVID.responseSerialize({ spiffe_id: claims.sub, claims: toProtoStruct(claims) });
    const decoded = service.ValidateJWTSVID.responseDeserialize(bytes);
    expect(decoded.spiffe_id).toBe(claims.sub);
    expect(fromProtoStruct(decoded.claims)).toEqual(claims);
  });
});

describe('toProtoStruct', () => {
  it('follows JSON semantics for values JSON cannot hold', () => {
    const s = toProtoStruct({ u: undefined, n: Number.NaN, big: 2n ** 70n, d: new Date(0), f: () => 1 });
    expect(fromProtoStruct(s)).toEqual({ n: null, big: '1180591620717411303424', d: '1970-01-01T00:00:00.000Z' });
  });

  it('rejects cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => toProtoStruct(a)).toThrow(TypeError);
  });
});

describe('fromProtoStruct', () => {
  it('returns an empty object for a missing struct', () => {
    expect(fromProtoStruct(null)).toEqual({});
  });
});

describe('createWorkloadApiMetadata', () => {
  it('carries the security header', () => {
    expect(createWorkloadApiMetadata().get(SECURITY_HEADER_KEY)).toEqual([SECURITY_HEADER_VALUE]);
    expect(SECURITY_HEADER_KEY).toBe('workload.spiffe.io');
  });
});
