// Skipping rules without evaluating them, for requests that select many resources (a label selector matching
// thousands): every rule has at most one chosen guard, an `attribute == literal` whose falsity alone makes the rule
// false. Guards are indexed by attribute and literal, so a request reads each guarded attribute once and marks the
// resources one of whose rules could hold; every other resource is denied with its precomputed "no rule held" denial,
// exactly the decision a full evaluation reaches (explain, which evaluates everything, is tested to agree).
import type { CompiledIdentity } from './compile-resource.js';
import { scalarString } from './compile-resource.js';
import type { EvalContext, Guard } from './expression.js';

interface SlotIndex {
  readonly read: Guard['read'];
  /** literal -> positions with a rule guarded by `attribute == literal`. */
  readonly byKey: Map<string, number[]>;
  /** Every position with a rule guarded on this attribute (all must be evaluated when it cannot be read). */
  readonly all: number[];
}

/** Below this many selected resources, evaluating them directly is cheaper than consulting the index. */
export const RULE_INDEX_THRESHOLD = 32;

export class RuleIndex {
  private readonly slots = new Map<number, SlotIndex>();
  /** 1 where the resource must always be evaluated (no rules, or a rule without a guard). */
  private readonly unguarded: Uint8Array;

  constructor(identities: readonly CompiledIdentity[]) {
    this.unguarded = new Uint8Array(identities.length);
    // Prefer, for each rule, the guard on the attribute with the most distinct literals across the set: it splits
    // the resources finest.
    const distinct = new Map<number, Set<string>>();
    for (const id of identities) {
      for (const rule of id.rules) {
        for (const g of rule.guards) {
          let keys = distinct.get(g.slot);
          if (keys === undefined) {
            keys = new Set();
            distinct.set(g.slot, keys);
          }
          keys.add(g.key);
        }
      }
    }
    identities.forEach((id, pos) => {
      if (id.rules.length === 0) this.unguarded[pos] = 1;
      for (const rule of id.rules) {
        let best: Guard | undefined;
        for (const g of rule.guards) {
          if (best === undefined || distinct.get(g.slot)!.size > distinct.get(best.slot)!.size) best = g;
        }
        if (best === undefined) {
          this.unguarded[pos] = 1;
          continue;
        }
        let slot = this.slots.get(best.slot);
        if (slot === undefined) {
          slot = { read: best.read, byKey: new Map(), all: [] };
          this.slots.set(best.slot, slot);
        }
        let list = slot.byKey.get(best.key);
        if (list === undefined) {
          list = [];
          slot.byKey.set(best.key, list);
        }
        if (list[list.length - 1] !== pos) list.push(pos);
        if (slot.all[slot.all.length - 1] !== pos) slot.all.push(pos);
      }
    });
  }

  /** 1 at every position that must be evaluated for this request; 0 where every rule is known to be false. */
  mustEvaluate(ctx: EvalContext): Uint8Array {
    const marks = this.unguarded.slice();
    for (const slot of this.slots.values()) {
      let key: string | undefined;
      try {
        key = scalarString(slot.read(ctx));
      } catch {
        key = undefined; // unreadable: the rules guarded on it fail rather than being false; evaluate them
      }
      const positions = key === undefined ? slot.all : slot.byKey.get(key);
      if (positions !== undefined) for (const pos of positions) marks[pos] = 1;
    }
    return marks;
  }
}
