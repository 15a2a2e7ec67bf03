// Static test certificates for FakeKubelet, generated once with OpenSSL for this project (P-256, valid
// 2000-01-01 .. 2125-01-01) so the double needs no certificate tooling at run time. They protect nothing: the private
// keys are public here. The server certificate names localhost, fake-kubelet.test, 127.0.0.1 and ::1.
// Chosen over generating a CA at start-up because node:crypto has no certificate builder and @peculiar/x509 would
// become a runtime dependency of this package's ./testing subpath.

/** PEM of the FakeKubelet test CA (the "cluster CA" a client trusts). */
export const FAKE_KUBELET_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBeDCCAR2gAwIBAgIBATAKBggqhkjOPQQDAjAiMSAwHgYDVQQDDBd3aWQgRmFr
ZUt1YmVsZXQgdGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MDEwMTAwMDAw
MFowIjEgMB4GA1UEAwwXd2lkIEZha2VLdWJlbGV0IHRlc3QgQ0EwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAASUuKOxf/jclTe1jn7Xw4zjf3piqB1f2LfUGNq9l+xf
EXZGv2zCAOYmeyWqnnZeIusAtXJJY6tbbl+MXZNOmy18o0IwQDAPBgNVHRMBAf8E
BTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUKB5X9GnexNqcJ5LBtiTn
ghpvmiAwCgYIKoZIzj0EAwIDSQAwRgIhAK5KBHXuUuf+UnrC0rVNKHNHN+XM2VSd
jp+kp5VvJkibAiEAvc5YOvodwkb1r2vlo9lTCdEzai0NHmK/1T6nf+z3kfM=
-----END CERTIFICATE-----
`;

/** PEM of the FakeKubelet server certificate, issued by {@link FAKE_KUBELET_CA_PEM}. */
export const FAKE_KUBELET_SERVER_CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIB4TCCAYigAwIBAgIBAjAKBggqhkjOPQQDAjAiMSAwHgYDVQQDDBd3aWQgRmFr
ZUt1YmVsZXQgdGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MDEwMTAwMDAw
MFowFzEVMBMGA1UEAwwMZmFrZS1rdWJlbGV0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEufWH9SdZ2JwBuIWQSIaEevCNTVHdLLkfpkVU9TtDxAzPf/xi/pivnCEB
/iHiYp5iOpvQ/0A3JUwiJk5CgOpEdqOBtzCBtDAMBgNVHRMBAf8EAjAAMA4GA1Ud
DwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATA/BgNVHREEODA2gglsb2Nh
bGhvc3SCEWZha2Uta3ViZWxldC50ZXN0hwR/AAABhxAAAAAAAAAAAAAAAAAAAAAB
MB8GA1UdIwQYMBaAFCgeV/Rp3sTanCeSwbYk54Iab5ogMB0GA1UdDgQWBBSBb5fP
88YH5JrG1PBqIjUEr/A0PjAKBggqhkjOPQQDAgNHADBEAiAwUkbGpWG/vcjCB6Sd
TpC2tprugq3MWIj0LJTfElXrUwIgHQTvsEeLw5Sro2ry6vWDKb7AY25++IrPUkXa
dKbIn8s=
-----END CERTIFICATE-----
`;

/** PKCS#8 PEM of the FakeKubelet server key. */
export const FAKE_KUBELET_SERVER_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEekN103UmqZdQUwj
YeMflFC7P8z9Jmjza2BxGSLBEeOhRANCAAS59Yf1J1nYnAG4hZBIhoR68I1NUd0s
uR+mRVT1O0PEDM9//GL+mK+cIQH+IeJinmI6m9D/QDclTCImTkKA6kR2
-----END PRIVATE KEY-----
`;

/** PEM of an unrelated CA, for tests that need a client trusting the wrong CA. */
export const UNRELATED_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBczCCARmgAwIBAgIBAzAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBV3aWQgdW5y
ZWxhdGVkIHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBa
MCAxHjAcBgNVBAMMFXdpZCB1bnJlbGF0ZWQgdGVzdCBDQTBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABBo9cF3uiFyFzIGbrx/pn84ET3QIzcoUP/y9RC/1+kOrJ9X5
xLjRY6oX1V291w48B7+ypW3tJ92SSTnJWycz3jejQjBAMA8GA1UdEwEB/wQFMAMB
Af8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBRIWo7qJ63DFm6UcG9l2rtbjOHA
RTAKBggqhkjOPQQDAgNIADBFAiEAxm1tJLBTGAUu893aXrFmO7bm3zmRVtnKnstS
Y22rkrACIH6yiTuQb5E9qOBBY68TpuoXqNTvX49TzB4uG8njV3oX
-----END CERTIFICATE-----
`;
