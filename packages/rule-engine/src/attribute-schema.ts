/**
 * The type of one attribute. `map` is a string-to-string map (Kubernetes or user labels) that accepts any key;
 * `string[]` / `int[]` are lists (usable with `contains`, `contains_any`, `contains_all`, `is_empty`).
 */
export type AttributeType = 'string' | 'int' | 'bool' | 'map' | 'string[]' | 'int[]';

/**
 * A tree of attribute names. A group that has an `attested: 'bool'` member is an **attestor block**: reading any other
 * attribute of it when `attested` is not `true` is an "attribute unset" error, and reading its `attested` flag gives
 * `false` instead of an error.
 */
export interface AttributeSchema {
  readonly [name: string]: AttributeType | AttributeSchema;
}

function freeze<T extends AttributeSchema>(schema: T): T {
  for (const v of Object.values(schema)) if (typeof v === 'object') freeze(v);
  return Object.freeze(schema);
}

/**
 * Every attribute rules, conditions and templates may read (ARCHITECTURE.md "Attributes"; names follow Teleport's, so
 * existing WorkloadIdentity resources work unchanged). A path not in this tree is a load-time
 * `ERR_WID_RULE_UNKNOWN_ATTRIBUTE`, never a silent non-match. A new attestor adds its block here, in this one place.
 *
 * Attributes passed to `decide` have this shape, e.g.
 * `{ workload: { unix: { attested: true, uid: 1000 }, kubernetes: { attested: true, namespace: 'default' } } }`.
 *
 * @example
 * ATTRIBUTE_SCHEMA.workload; // { unix: {...}, kubernetes: {...}, systemd: {...} }
 */
export const ATTRIBUTE_SCHEMA: AttributeSchema = freeze({
  workload: {
    unix: {
      attested: 'bool',
      pid: 'int',
      uid: 'int',
      gid: 'int',
      binary_path: 'string',
      binary_hash: 'string',
      user: 'string',
      group: 'string',
      supplementary_gids: 'int[]',
    },
    kubernetes: {
      attested: 'bool',
      namespace: 'string',
      pod_name: 'string',
      pod_uid: 'string',
      service_account: 'string',
      labels: 'map',
      container: {
        name: 'string',
        image: 'string',
        image_digest: 'string',
      },
    },
    systemd: {
      attested: 'bool',
      service: 'string',
    },
  },
  join: {
    meta: {
      join_method: 'string',
      join_token_name: 'string',
    },
    iam: {
      account: 'string',
      arn: 'string',
    },
    kubernetes: {
      subject: 'string',
      service_account: {
        name: 'string',
        namespace: 'string',
      },
      pod: {
        name: 'string',
      },
    },
  },
  user: {
    name: 'string',
    bot_name: 'string',
    bot_instance_id: 'string',
    labels: 'map',
  },
});
