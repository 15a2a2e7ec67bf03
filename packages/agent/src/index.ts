/**
 * @wid/agent: wid-agent: the reference workload identity agent (tbot-style YAML config, Workload API sockets, attestors, standalone issuance).
 */
export {};
