import type { WorkloadIdentitySource } from '@wid/workload-api-server';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { WorkloadIdentityCache } from '../src/index.js';

// @wid/server re-declares the Workload API source shapes (src/workload-source-types.ts) instead of depending on
// @wid/workload-api-server, as ARCHITECTURE.md's structural contracts intend. This file is type-checked by
// `pnpm lint` (tsconfig.test.json): if either side drifts, the cache stops being assignable and lint fails.
describe('WorkloadIdentityCache', () => {
  it('is a WorkloadIdentitySource of @wid/workload-api-server', () => {
    expectTypeOf<WorkloadIdentityCache>().toExtend<WorkloadIdentitySource>();
    const check = (cache: WorkloadIdentityCache): WorkloadIdentitySource => cache;
    expect(typeof check).toBe('function');
  });
});
