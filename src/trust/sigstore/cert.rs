//! The signing certificate: its chain to a Fulcio authority of the trusted root (webpki, at
//! the signing time), its embedded Signed Certificate Timestamp (RFC 6962, over the
//! precertificate's TBS) checked with a CT log key of the root, and the identity Fulcio wrote
//! into it (the subject alternative name and the OIDC issuer extension).

use der::{Decode, Encode};
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::error::SigstoreError;
use super::root::TrustedRoot;

/// The Certificate Transparency SCT list extension.
const SCT_LIST: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's OIDC issuer extensions: the first (raw UTF-8) and its successor (a DER string).
const ISSUER_V1: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const ISSUER_V2: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// id-kp-codeSigning, the extended key usage Fulcio issues.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// A signing certificate, read.
pub struct Leaf {
    pub der: Vec<u8>,
    pub cert: Certificate,
    /// The key, DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    pub not_before: u64,
    pub not_after: u64,
}

/// The identity a certificate was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject alternative names (URIs and e-mail addresses).
    pub sans: Vec<String>,
    pub issuer: Option<String>,
}

impl Leaf {
    pub fn read(der: &[u8]) -> Result<Leaf, SigstoreError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| SigstoreError::Malformed(format!("the certificate does not read: {e}")))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| SigstoreError::Malformed(format!("the certificate's key: {e}")))?;
        let v = tbs.validity();
        Ok(Leaf {
            der: der.to_vec(),
            spki,
            not_before: v.not_before.to_unix_duration().as_secs(),
            not_after: v.not_after.to_unix_duration().as_secs(),
            cert,
        })
    }

    /// The identity Fulcio wrote into the certificate.
    pub fn identity(&self) -> Identity {
        let tbs = self.cert.tbs_certificate();
        let mut sans = Vec::new();
        if let Ok(Some(san)) = tbs.get_extension::<SubjectAltName>() {
            for n in &san.1.0 {
                match n {
                    GeneralName::UniformResourceIdentifier(s) | GeneralName::Rfc822Name(s) => {
                        sans.push(s.to_string());
                    }
                    _ => {}
                }
            }
        }
        let mut issuer = None;
        for e in tbs.extensions().into_iter().flatten() {
            if e.extn_id == ISSUER_V2 {
                issuer = der::asn1::Utf8StringRef::from_der(e.extn_value.as_bytes())
                    .ok()
                    .map(|s| s.as_str().to_owned());
                break;
            }
            if e.extn_id == ISSUER_V1 {
                issuer = std::str::from_utf8(e.extn_value.as_bytes())
                    .ok()
                    .map(str::to_owned);
            }
        }
        Identity { sans, issuer }
    }

    /// The chain to an authority of `root` valid at `time` (seconds since the epoch), checked
    /// at that time. Returns the issuing certificate (DER).
    pub fn chain(&self, root: &TrustedRoot, time: u64) -> Result<Vec<u8>, SigstoreError> {
        let end = CertificateDer::from(self.der.as_slice());
        let end = webpki::EndEntityCert::try_from(&end)
            .map_err(|e| SigstoreError::Chain(format!("the certificate does not read: {e}")))?;
        let algs = webpki::ALL_VERIFICATION_ALGS;
        let mut last = None;
        for a in root.authorities.iter().filter(|a| a.valid.contains(time)) {
            let (anchor_der, intermediates) = a.chain.split_last().expect("checked on reading");
            let anchor_der = CertificateDer::from(anchor_der.as_slice());
            let Ok(anchor) = webpki::anchor_from_trusted_cert(&anchor_der) else {
                continue;
            };
            let intermediates: Vec<CertificateDer<'_>> = intermediates
                .iter()
                .map(|c| CertificateDer::from(c.as_slice()))
                .collect();
            match end.verify_for_usage(
                algs,
                &[anchor],
                &intermediates,
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(time)),
                webpki::KeyUsage::required(CODE_SIGNING),
                None,
                None,
            ) {
                Ok(_) => {
                    let issuer = self.cert.tbs_certificate().issuer();
                    return a
                        .chain
                        .iter()
                        .find(|c| {
                            Certificate::from_der(c)
                                .is_ok_and(|c| c.tbs_certificate().subject() == issuer)
                        })
                        .cloned()
                        .ok_or_else(|| {
                            SigstoreError::Chain("its issuer is not in the chain".into())
                        });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(SigstoreError::Chain(match last {
            Some(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
                "the certificate was not valid at the signing time".into()
            }
            Some(e) => format!(
                "it does not chain to a Fulcio authority of {}: {e:?}",
                root.origin
            ),
            None => format!(
                "no Fulcio authority of {} is valid at the signing time",
                root.origin
            ),
        }))
    }

    /// The embedded SCTs: one must verify with a CT log key of `root`. `issuer` is the
    /// issuing certificate (DER).
    pub fn check_sct(&self, root: &TrustedRoot, issuer: &[u8]) -> Result<(), SigstoreError> {
        let bad = |m: &str| SigstoreError::Sct(m.to_owned());
        let tbs = self.cert.tbs_certificate();
        let ext = tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == SCT_LIST)
            .ok_or_else(|| bad("the certificate holds no SCT"))?;
        let list = der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
            .map_err(|_| bad("the SCT list does not read"))?;
        let issuer = Certificate::from_der(issuer).map_err(|_| bad("the issuer does not read"))?;
        let issuer_spki = issuer
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| bad("the issuer's key does not read"))?;
        let precert =
            precert_tbs(&self.cert).map_err(|_| bad("the certificate does not re-encode"))?;
        let mut r = Reader(list.as_bytes());
        let mut scts = Reader(r.vec(2).ok_or_else(|| bad("the SCT list does not read"))?);
        while !scts.0.is_empty() {
            let sct = scts.vec(2).ok_or_else(|| bad("an SCT does not read"))?;
            let mut s = Reader(sct);
            let (
                Some(version),
                Some(log_id),
                Some(timestamp),
                Some(exts),
                Some(_hash),
                Some(_alg),
                Some(sig),
            ) = (
                s.take(1),
                s.take(32),
                s.take(8),
                s.vec(2),
                s.take(1),
                s.take(1),
                s.vec(2),
            )
            else {
                return Err(bad("an SCT does not read"));
            };
            if version != [0] {
                continue;
            }
            let mut signed = vec![0u8, 0u8];
            signed.extend_from_slice(timestamp);
            signed.extend_from_slice(&[0, 1]);
            signed.extend_from_slice(&sha2::Sha256::digest(&issuer_spki));
            let n = precert.len();
            if n >= 1 << 24 {
                return Err(bad("the certificate is too large"));
            }
            signed.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
            signed.extend_from_slice(&precert);
            signed.extend_from_slice(&(exts.len() as u16).to_be_bytes());
            signed.extend_from_slice(exts);
            let t = u64::from_be_bytes(timestamp.try_into().expect("8 bytes")) / 1000;
            for log in root
                .ctlogs
                .iter()
                .filter(|l| l.id == log_id && l.valid.contains(t))
            {
                if super::error::verify_raw(&log.spki, &signed, sig) {
                    return Ok(());
                }
            }
        }
        Err(bad("no SCT verifies with a CT log key of the trusted root"))
    }
}

/// A byte reader for the TLS encoding of SCTs.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    /// A vector with a `len`-byte length prefix.
    fn vec(&mut self, len: usize) -> Option<&'a [u8]> {
        let n = self
            .take(len)?
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        self.take(n)
    }
}

/// The TBS certificate as it was before the SCT list was added (RFC 6962 §3.2): the same,
/// without that extension.
fn precert_tbs(cert: &Certificate) -> der::Result<Vec<u8>> {
    let tbs = cert.tbs_certificate().to_der()?;
    let mut p = PrecertTbs::from_der(&tbs)?;
    if let Some(exts) = &mut p.extensions {
        exts.retain(|e| e.extn_id != SCT_LIST);
    }
    p.to_der()
}

/// The fields of a TBS certificate, to re-encode one without an extension.
#[derive(der::Sequence)]
struct PrecertTbs {
    #[asn1(context_specific = "0", default = "Default::default")]
    version: x509_cert::certificate::Version,
    serial_number: x509_cert::serial_number::SerialNumber,
    signature: x509_cert::spki::AlgorithmIdentifierOwned,
    issuer: x509_cert::name::Name,
    validity: x509_cert::time::Validity,
    subject: x509_cert::name::Name,
    subject_public_key_info: x509_cert::spki::SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    issuer_unique_id: Option<der::asn1::BitString>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    subject_unique_id: Option<der::asn1::BitString>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<x509_cert::ext::Extension>>,
}
