// Decisions per second for 1, 100 and 10,000 resources selected by labels (run `tsc -b packages/rule-engine` first;
// `pnpm bench` does). Goals: one decision <= 20 us; 10,000 resources by labels <= 2 ms (both when the selector picks
// one of 10,000 resources, through the label index, and when it picks all 10,000 and every one is decided, through
// the rule index; a last line shows the cost when rules cannot be indexed).
// Each figure is the median of interleaved rounds against a same-run baseline:
//   - one decision: a hand-written closure doing the same work (label lookup in a Map, the two checks, the template
//     concatenation, SpiffeId.fromPath): the floor for this decision without a rule engine;
//   - all 10,000 evaluated: the same hand-written check over a linear label scan.
import { decide, loadWorkloadIdentities } from '@wid/rule-engine';
import { SpiffeId, TrustDomain } from '@wid/spiffe-id';

const ROUNDS = 7;
const ROUND_MS = 120;
const TD = TrustDomain.parse('example.org');

function resources(n) {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'workload_identity',
    version: 'v1',
    metadata: { name: `svc-${i}`, labels: { app: `svc-${i}`, env: 'prod', team: `t${i % 50}` } },
    spec: {
      rules: {
        allow: [
          {
            conditions: [
              { attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } },
              { attribute: 'workload.kubernetes.labels.app', eq: { value: `svc-${i}` } },
            ],
          },
          {
            expression: `workload.unix.uid == ${100_000 + i} && regexp.match(workload.unix.binary_path, "^/usr/bin/")`,
          },
        ],
      },
      spiffe: {
        id: '/ns/{{ workload.kubernetes.namespace }}/sa/{{ workload.kubernetes.service_account }}',
        hint: `svc-${i}`,
        x509: { dns_sans: ['{{ workload.kubernetes.service_account }}.{{ workload.kubernetes.namespace }}.svc'] },
      },
    },
  }));
}

const attrsFor = (app) => ({
  workload: {
    unix: { attested: true, pid: 4242, uid: 1000, gid: 1000, binary_path: '/usr/bin/node' },
    kubernetes: { attested: true, namespace: 'default', service_account: 'web', pod_name: 'web-1', labels: { app } },
  },
});

function rate(fn, ms) {
  let n = 0;
  const end = performance.now() + ms;
  let t;
  do {
    for (let k = 0; k < 16; k++) fn();
    n += 16;
    t = performance.now();
  } while (t < end);
  return (n * 1000) / (t - end + ms);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function compare(subject, baseline, roundMs = ROUND_MS) {
  const s = [];
  const b = [];
  for (let r = 0; r < ROUNDS; r++) {
    s.push(rate(subject, roundMs));
    b.push(rate(baseline, roundMs));
  }
  return { subject: median(s), baseline: median(b) };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const us = (opsPerSec) => (1e6 / opsPerSec).toFixed(2);

// A hand-written version of one resource's decision, the floor the engine is compared with.
function handWritten(byApp) {
  return (attrs, app) => {
    const r = byApp.get(app);
    const k = attrs.workload.kubernetes;
    if (k.attested !== true || k.namespace !== 'default' || k.labels.app !== r.app) return undefined;
    const id = SpiffeId.fromPath(TD, `/ns/${k.namespace}/sa/${k.service_account}`);
    return { spiffeId: id, dnsSans: [`${k.service_account}.${k.namespace}.svc`], hint: r.app, ttlSeconds: 3600 };
  };
}

let sink = 0;
const lines = [];
for (const n of [1, 100, 10_000]) {
  const t0 = performance.now();
  const set = loadWorkloadIdentities(resources(n), { trustDomain: TD });
  const loadMs = performance.now() - t0;
  const target = `svc-${n - 1}`;
  const attrs = attrsFor(target);
  const req = { labelSelectors: { app: [target] } };
  const check = decide(set, attrs, req);
  if (check.length !== 1 || check[0].kind !== 'issue')
    throw new Error(`bench setup: expected one issuance, got ${JSON.stringify(check)}`);
  const byApp = new Map(Array.from({ length: n }, (_, i) => [`svc-${i}`, { app: `svc-${i}` }]));
  const hand = handWritten(byApp);
  const { subject, baseline } = compare(
    () => {
      sink += decide(set, attrs, req).length;
    },
    () => {
      sink += hand(attrs, target) === undefined ? 0 : 1;
    },
  );
  lines.push(
    `decide 1 of ${fmt(n)} resources by labels: ${fmt(subject)} ops/s (${us(subject)} us/decision; load ${loadMs.toFixed(0)} ms) | baseline hand-written check+render: ${fmt(baseline)} ops/s | ratio ${(subject / baseline).toFixed(2)}`,
  );
  console.log(lines.at(-1));

  if (n === 10_000) {
    // Every resource selected (env: prod) and evaluated; one issues, 9,999 are denied by their rules.
    const all = { labelSelectors: { env: ['prod'] } };
    const allDecisions = decide(set, attrs, all);
    if (allDecisions.length !== n || allDecisions.filter((d) => d.kind === 'issue').length !== 1) {
      throw new Error('bench setup: expected 10,000 decisions, one issued');
    }
    const labelsList = Array.from({ length: n }, (_, i) => ({ app: `svc-${i}`, env: 'prod' }));
    const all2 = compare(
      () => {
        sink += decide(set, attrs, all).length;
      },
      () => {
        let issued = 0;
        for (const l of labelsList) if (l.env === 'prod' && hand(attrs, l.app) !== undefined) issued++;
        sink += issued;
      },
      300,
    );
    lines.push(
      `decide all ${fmt(n)} resources selected by labels (1 issued, ${fmt(n - 1)} denied): ${fmt(all2.subject)} requests/s (${(1000 / all2.subject).toFixed(3)} ms/request) | baseline hand-written linear scan+check: ${fmt(all2.baseline)} requests/s | ratio ${(all2.subject / all2.baseline).toFixed(2)}`,
    );
    console.log(lines.at(-1));

    // Worst case: rules the rule index cannot use (no leading `attribute == literal`), so all 10,000 are evaluated.
    const unindexed = loadWorkloadIdentities(
      resources(n).map((r, i) => ({
        ...r,
        spec: {
          ...r.spec,
          rules: {
            allow: [{ expression: `workload.kubernetes.labels.app != "x" && workload.unix.uid == ${100_000 + i}` }],
          },
        },
      })),
      { trustDomain: TD },
    );
    const all3 = compare(
      () => {
        sink += decide(unindexed, attrs, all).length;
      },
      () => {
        let issued = 0;
        for (const l of labelsList) if (l.env === 'prod' && hand(attrs, l.app) !== undefined) issued++;
        sink += issued;
      },
      300,
    );
    lines.push(
      `decide all ${fmt(n)} resources selected by labels, rules not indexable (all evaluated): ${fmt(all3.subject)} requests/s (${(1000 / all3.subject).toFixed(3)} ms/request) | baseline hand-written linear scan+check: ${fmt(all3.baseline)} requests/s | ratio ${(all3.subject / all3.baseline).toFixed(2)}`,
    );
    console.log(lines.at(-1));

    // The index: selecting 1 of 10,000 by label must not cost a scan. Compare with 1 of 1.
    const one = loadWorkloadIdentities(resources(1), { trustDomain: TD });
    const oneAttrs = attrsFor('svc-0');
    const idx = compare(
      () => {
        sink += decide(set, attrs, req).length;
      },
      () => {
        sink += decide(one, oneAttrs, { labelSelectors: { app: ['svc-0'] } }).length;
      },
    );
    lines.push(
      `label index: decide 1 of 10,000: ${fmt(idx.subject)} ops/s | baseline decide 1 of 1: ${fmt(idx.baseline)} ops/s | ratio ${(idx.subject / idx.baseline).toFixed(2)}`,
    );
    console.log(lines.at(-1));
  }
}
if (sink === 0) console.log('(sink)');
