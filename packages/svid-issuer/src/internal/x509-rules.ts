// The X.509-SVID certificate rules (X509-SVID §2–5) shared by X509Svid.parse and verifyX509Svid. Messages follow
// go-spiffe's x509svid wording so people can search for them.
import { SpiffeId } from '@wid/spiffe-id';
import { SvidIssuerError } from '../errors.js';
import { type CertInfo, KU } from './x509-cert-info.js';

/** The SPIFFE ID of a certificate: exactly one URI SAN holding a valid SPIFFE ID (X509-SVID §2). */
export function idFromCert(info: CertInfo, index = 0): SpiffeId {
  const uris = info.san?.uris ?? [];
  if (uris.length === 0) {
    throw new SvidIssuerError('ERR_WID_X509_NO_URI_SAN', 'certificate contains no URI SAN', { index });
  }
  if (uris.length > 1) {
    throw new SvidIssuerError('ERR_WID_X509_MULTIPLE_URI_SANS', 'certificate contains more than one URI SAN', {
      index,
      input: uris.join(', ').slice(0, 200),
    });
  }
  try {
    return SpiffeId.parse(uris[0]!);
  } catch (cause) {
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_SPIFFE_ID',
      `certificate URI SAN is not a valid SPIFFE ID: ${(cause as Error).message}`,
      {
        index,
        input: uris[0]!.slice(0, 200),
        cause,
      },
    );
  }
}

/** Leaf rules, in the order of X509-SVID §5 / go-spiffe: non-root path; cA=false; digitalSignature; no keyCertSign; no cRLSign. */
export function checkLeaf(info: CertInfo, id: SpiffeId): void {
  if (id.isRoot()) {
    throw new SvidIssuerError(
      'ERR_WID_X509_ROOT_PATH_ID',
      `leaf certificate SPIFFE ID "${id}" has no path; an X.509-SVID must identify a workload, not a trust domain`,
      { index: 0, input: id.toString(), trustDomain: id.trustDomain.name },
    );
  }
  if (info.basicConstraints?.ca === true) {
    throw new SvidIssuerError('ERR_WID_X509_LEAF_IS_CA', 'leaf certificate must not have CA flag set to true', {
      index: 0,
      input: id.toString(),
    });
  }
  const ku = info.keyUsage ?? 0;
  if ((ku & KU.digitalSignature) === 0) {
    throw new SvidIssuerError(
      'ERR_WID_X509_LEAF_NO_DIGITAL_SIGNATURE',
      "leaf certificate must have 'digitalSignature' set as key usage",
      { index: 0, input: id.toString() },
    );
  }
  if (ku & KU.keyCertSign) {
    throw new SvidIssuerError(
      'ERR_WID_X509_LEAF_KEY_CERT_SIGN',
      "leaf certificate must not have 'keyCertSign' set as key usage",
      {
        index: 0,
        input: id.toString(),
      },
    );
  }
  if (ku & KU.cRLSign) {
    throw new SvidIssuerError(
      'ERR_WID_X509_LEAF_CRL_SIGN',
      "leaf certificate must not have 'cRLSign' set as key usage",
      {
        index: 0,
        input: id.toString(),
      },
    );
  }
}

/** A signing (intermediate) certificate: cA=true and keyUsage keyCertSign (X509-SVID §4.1, §4.3). */
export function checkSigningCert(info: CertInfo, index: number): void {
  if (info.basicConstraints?.ca !== true) {
    throw new SvidIssuerError('ERR_WID_X509_SIGNING_CERT_NOT_CA', 'signing certificate must have CA flag set to true', {
      index,
    });
  }
  if (((info.keyUsage ?? 0) & KU.keyCertSign) === 0) {
    throw new SvidIssuerError(
      'ERR_WID_X509_SIGNING_CERT_NO_KEY_CERT_SIGN',
      "signing certificate must have 'keyCertSign' set as key usage",
      { index },
    );
  }
}
