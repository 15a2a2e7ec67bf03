import { SpiffeId, SpiffeIdError, TrustDomain } from '@wid/spiffe-id';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split(''));
const segChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_'.split(''));
const trustDomain = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
const segment = fc.string({ unit: segChar, minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');
const validId = fc
  .tuple(trustDomain, fc.array(segment, { maxLength: 6 }))
  .map(([td, segs]) => `spiffe://${td}${segs.map((s) => `/${s}`).join('')}`);

describe('SpiffeId properties', () => {
  it('parse(x.toString()) round-trips every valid ID', () => {
    fc.assert(
      fc.property(validId, (input) => {
        const id = SpiffeId.parse(input);
        expect(id.toString()).toBe(input);
        expect(SpiffeId.parse(id.toString()).equals(id)).toBe(true);
        expect(SpiffeId.fromPath(TrustDomain.parse(id.trustDomain.name), id.path).equals(id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('parse never throws anything but a SpiffeIdError, on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          validId.map((s) => `${s}/`),
        ),
        (input) => {
          try {
            const id = SpiffeId.parse(input);
            expect(id.toString()).toBe(input);
          } catch (e) {
            expect(e).toBeInstanceOf(SpiffeIdError);
            expect((e as SpiffeIdError).code).toMatch(/^ERR_WID_SPIFFE_ID_/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutating a valid ID with a forbidden character is always rejected', () => {
    const forbidden = fc.constantFrom('/', '%', ' ', '?', '#', ':', '@', 'é', '\u0000');
    fc.assert(
      fc.property(validId, forbidden, fc.nat(), (input, ch, at) => {
        const pos = 'spiffe://'.length + (at % (input.length - 'spiffe://'.length));
        const mutated = input.slice(0, pos) + ch + input.slice(pos);
        if (ch === '/') {
          // A slash may form a valid new segment; when it does, the result must still round-trip.
          try {
            expect(SpiffeId.parse(mutated).toString()).toBe(mutated);
          } catch (e) {
            expect(e).toBeInstanceOf(SpiffeIdError);
          }
          return;
        }
        expect(() => SpiffeId.parse(mutated)).toThrow(SpiffeIdError);
      }),
      { numRuns: 2000 },
    );
  });
});
