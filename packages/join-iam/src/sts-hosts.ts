import { IamJoinError } from './errors.js';

// Commercial regions with a regional STS endpoint `sts.<region>.amazonaws.com`. A fixed list on purpose: the
// verifier forwards signed requests only to hosts it knows are AWS STS, so a new region is a code change.
const COMMERCIAL_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
] as const;
const FIPS_REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1'] as const;
const GOVCLOUD_REGIONS = ['us-gov-east-1', 'us-gov-west-1'] as const;
const CHINA_REGIONS = ['cn-north-1', 'cn-northwest-1'] as const;

/**
 * Every AWS STS endpoint host the verifier forwards to by default: the global endpoint, each commercial regional
 * endpoint, the FIPS endpoints, GovCloud and China. Frozen.
 *
 * @example
 * createIamJoinVerifier({ allowedHosts: DEFAULT_STS_HOSTS.filter((h) => h.endsWith('.amazonaws.com.cn')) });
 */
export const DEFAULT_STS_HOSTS: readonly string[] = Object.freeze([
  'sts.amazonaws.com',
  ...COMMERCIAL_REGIONS.map((r) => `sts.${r}.amazonaws.com`),
  ...FIPS_REGIONS.map((r) => `sts-fips.${r}.amazonaws.com`),
  ...GOVCLOUD_REGIONS.map((r) => `sts.${r}.amazonaws.com`),
  ...CHINA_REGIONS.map((r) => `sts.${r}.amazonaws.com.cn`),
]);

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/**
 * The STS endpoint host for a region: `sts.amazonaws.com` when `region` is undefined, `sts-fips.<region>...` with
 * `fips`, `.amazonaws.com.cn` for China; GovCloud's regular endpoints are already FIPS endpoints.
 *
 * @example
 * stsHostForRegion('eu-west-1'); // 'sts.eu-west-1.amazonaws.com'
 */
export function stsHostForRegion(region: string | undefined, options: { fips?: boolean } = {}): string {
  if (region === undefined) return options.fips === true ? 'sts-fips.us-east-1.amazonaws.com' : 'sts.amazonaws.com';
  if (!REGION.test(region)) {
    throw new IamJoinError(
      'ERR_WID_JOIN_IAM_BAD_OPTION',
      `region "${region}" is not an AWS region name like us-east-1`,
      {
        key: 'region',
        input: region,
      },
    );
  }
  if (region.startsWith('cn-')) return `sts.${region}.amazonaws.com.cn`;
  if (region.startsWith('us-gov-')) return `sts.${region}.amazonaws.com`;
  return options.fips === true ? `sts-fips.${region}.amazonaws.com` : `sts.${region}.amazonaws.com`;
}
