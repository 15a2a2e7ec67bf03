// Label selection without scanning: label -> value -> sorted resource positions, and label -> positions having it.
// A selector is an intersection (over keys) of unions (over values), computed on the sorted position lists.

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

function union(lists: readonly (readonly number[])[]): readonly number[] {
  if (lists.length === 1) return lists[0]!;
  const all = lists.flat().sort((x, y) => x - y);
  return all.filter((x, k) => k === 0 || all[k - 1] !== x);
}

const NONE: readonly number[] = Object.freeze([]);

export class LabelIndex {
  private readonly byValue = new Map<string, Map<string, number[]>>();
  private readonly byKey = new Map<string, number[]>();
  private readonly size: number;

  constructor(labels: readonly Readonly<Record<string, string>>[]) {
    this.size = labels.length;
    labels.forEach((set, pos) => {
      for (const [key, value] of Object.entries(set)) {
        let values = this.byValue.get(key);
        if (values === undefined) {
          values = new Map();
          this.byValue.set(key, values);
          this.byKey.set(key, []);
        }
        let list = values.get(value);
        if (list === undefined) {
          list = [];
          values.set(value, list);
        }
        list.push(pos);
        this.byKey.get(key)!.push(pos);
      }
    });
  }

  /** Sorted positions of the resources the (validated) selector matches. */
  select(selector: Readonly<Record<string, readonly string[]>>): readonly number[] {
    const candidates: (readonly number[])[] = [];
    for (const [key, values] of Object.entries(selector)) {
      if (key === '*') continue; // { '*': ['*'] } matches every resource
      if (values.includes('*')) {
        candidates.push(this.byKey.get(key) ?? NONE);
        continue;
      }
      const byValue = this.byValue.get(key);
      candidates.push(union(values.map((v) => byValue?.get(v) ?? NONE)));
    }
    if (candidates.length === 0) return Array.from({ length: this.size }, (_, k) => k);
    candidates.sort((x, y) => x.length - y.length);
    let result = candidates[0]!;
    for (let k = 1; k < candidates.length && result.length > 0; k++) result = intersect(result, candidates[k]!);
    return result;
  }
}
