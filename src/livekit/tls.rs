//! TLS for https:// and wss:// servers: rustls with the system trust store, or the CA bundle
//! that `SSL_CERT_FILE` names (a private CA). No OpenSSL at build or run time.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

/// Builds the client TLS configuration. With `load_roots` (an https:// server) it trusts the
/// platform's roots, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`; a plain-http run skips
/// reading the trust store.
pub fn client_config(load_roots: bool) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if load_roots {
        if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
            check_cert_file(Path::new(&file))?;
        }
        load_platform_roots(&mut roots)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A CA bundle's size limit: the whole Mozilla bundle is about 200 KiB.
const MAX_CA_BUNDLE: u64 = 16 << 20;

/// rustls-native-certs reads only `SSL_CERT_FILE` (and `SSL_CERT_DIR`) once either is set,
/// and skips a file it cannot read: a typo would then surface later as "unknown issuer".
/// Refuse it up front instead, naming the variable. It would also read a device such as
/// /dev/zero for ever, or block on a FIFO: only a regular file of a bundle's size is read.
fn check_cert_file(path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            bail!("SSL_CERT_FILE={shown}: not a regular file (expected a PEM bundle)");
        }
        if meta.len() > MAX_CA_BUNDLE {
            bail!(
                "SSL_CERT_FILE={shown}: larger than {} MiB, not a CA bundle",
                MAX_CA_BUNDLE >> 20
            );
        }
    }
    let loaded = rustls_native_certs::load_certs_from_paths(Some(path), None);
    if let Some(err) = loaded.errors.first() {
        let why = match &err.kind {
            rustls_native_certs::ErrorKind::Io { inner, .. } => inner.to_string(),
            _ => err.to_string(),
        };
        bail!("SSL_CERT_FILE={shown}: cannot read CA certificates: {why}");
    }
    if loaded.certs.is_empty() {
        bail!(
            "SSL_CERT_FILE={shown}: no certificate in the file (expected PEM: -----BEGIN CERTIFICATE-----)"
        );
    }
    Ok(())
}

fn load_platform_roots(roots: &mut rustls::RootCertStore) -> anyhow::Result<()> {
    let loaded = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded
            .errors
            .first()
            .map(|e| format!("({e})"))
            .unwrap_or_default();
        bail!(
            "no trusted CA certificates found {why}: install ca-certificates, or set SSL_CERT_FILE to a PEM bundle"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_cert_file;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_cert_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = check_cert_file(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("SSL_CERT_FILE={}: cannot read", missing.display()))
                && err.contains("No such file"),
            "{err}"
        );

        let key_only = dir.path().join("key.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key_only, key.serialize_pem()).unwrap();
        let err = check_cert_file(&key_only).unwrap_err().to_string();
        assert!(err.contains("no certificate in the file"), "{err}");
        assert!(!err.contains("PRIVATE KEY-----\n"), "{err}");

        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem()).unwrap();
        check_cert_file(&ca).unwrap();
    }

    #[test]
    fn a_device_a_folder_or_a_huge_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        for path in [std::path::Path::new("/dev/zero"), dir.path()] {
            let err = check_cert_file(path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        let huge = dir.path().join("huge.pem");
        let file = std::fs::File::create(&huge).unwrap();
        // Sparse: no disk is written.
        file.set_len(super::MAX_CA_BUNDLE + 1).unwrap();
        let err = check_cert_file(&huge).unwrap_err().to_string();
        assert!(err.contains("larger than 16 MiB"), "{err}");
    }
}
