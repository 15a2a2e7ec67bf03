// A self-signed loopback certificate for the test doubles (EC P-256, valid 2000-01-01 .. 2125-01-01).
// SANs: localhost, 127.0.0.1, sts.amazonaws.com, sts.us-west-2.amazonaws.com, sts-fips.us-east-1.amazonaws.com,
// kubernetes.default.svc, oidc.example.test. It is its own CA: trust it through an undici dispatcher's `connect.ca`,
// never by turning certificate verification off. Generated once with openssl; the key guards nothing but tests.

/** PEM certificate of the doubles; pass it as the CA of the dispatcher that talks to them. */
export const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIICHjCCAcSgAwIBAgIBATAKBggqhkjOPQQDAjAcMRowGAYDVQQDDBF3aWQgdGVz
dCBsb29wYmFjazAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MDEwMTAwMDAwMFowHDEa
MBgGA1UEAwwRd2lkIHRlc3QgbG9vcGJhY2swWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAATLTDHjUV5vxLCj/eLywL52gkTHXqNbI47CHe234KKSIOxyAo1VShsTkO5H
y5OwIXKWPUwyEG9EnCcWGt/HK981o4H0MIHxMA8GA1UdEwEB/wQFMAMBAf8wDgYD
VR0PAQH/BAQDAgKEMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBT/okD9
Rtj+8lYpW+9vdGPbVNoEPTCBmQYDVR0RBIGRMIGOgglsb2NhbGhvc3SHBH8AAAGC
EXN0cy5hbWF6b25hd3MuY29tghtzdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb22C
IHN0cy1maXBzLnVzLWVhc3QtMS5hbWF6b25hd3MuY29tghZrdWJlcm5ldGVzLmRl
ZmF1bHQuc3ZjghFvaWRjLmV4YW1wbGUudGVzdDAKBggqhkjOPQQDAgNIADBFAiEA
5cVzhyi5+E+m/0C33afI/tVUxUW8qEYls9gtiLdeg2UCIH5Oqa86eaBw3B0U9WK4
r4CxoG9KqhUtJmWHbjlAzZLd
-----END CERTIFICATE-----
`;

/** PEM (PKCS#8) private key of {@link TEST_TLS_CERT}. Test use only. */
export const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzhOsUNORYWXRcqfi
z0MJ+/m406WZcHvvCnQ5oZoVCw6hRANCAATLTDHjUV5vxLCj/eLywL52gkTHXqNb
I47CHe234KKSIOxyAo1VShsTkO5Hy5OwIXKWPUwyEG9EnCcWGt/HK981
-----END PRIVATE KEY-----
`;
