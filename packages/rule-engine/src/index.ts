/**
 * @wid/rule-engine: Workload identity resources, conditions, expressions and templates: which SPIFFE IDs attested attributes earn.
 */
export {};
