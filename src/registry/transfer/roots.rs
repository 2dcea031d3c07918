//! The system's CA certificates, read once per process and handed to every HTTP client aibox
//! builds. Left to itself, each client (the redirect-following one, the token exchange's, and
//! every source's registry client) reads and parses the whole certificate store again when it
//! is built (`/etc/ssl/certs`: the bundle and every file of the directory, about 30 ms each
//! time), which a cold sync paid four times before its first request. Verification is the
//! same either way: WebPKI against the roots `rustls-native-certs` finds (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, else the system's locations), which is what reqwest's platform verifier
//! does on Linux.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The roots as DER, deduplicated (the bundle and the directory hold the same certificates),
/// read on first use. Empty when none could be read: clients then keep their own default,
/// which reports the problem when a TLS connection is made.
fn roots() -> &'static [Vec<u8>] {
    static ROOTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut seen = HashSet::new();
        rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .map(|c| c.as_ref().to_vec())
            .filter(|der| seen.insert(der.clone()))
            .collect()
    })
}

/// `builder` trusting exactly the process's roots (unchanged when there are none).
pub fn with_roots(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let certs: Vec<reqwest::Certificate> = roots()
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect();
    if certs.is_empty() {
        return builder;
    }
    builder.tls_certs_only(certs)
}

/// The process's roots for a registry client's configuration (`tls_certs_only`; empty: the
/// client's own default).
pub fn oci_roots() -> Vec<oci_client::client::Certificate> {
    roots()
        .iter()
        .map(|der| oci_client::client::Certificate {
            encoding: oci_client::client::CertificateEncoding::Der,
            data: der.clone(),
        })
        .collect()
}
