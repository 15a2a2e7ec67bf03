/**
 * @wid/join-iam: AWS IAM join method: sign sts:GetCallerIdentity with a challenge (client) and verify it against STS and allow rules (server).
 */
export {};
