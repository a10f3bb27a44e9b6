//! TLS for https:// and wss:// servers: rustls with the system trust store, or the CA bundle
//! that `SSL_CERT_FILE` names (a private CA). No OpenSSL at build or run time.

use std::sync::Arc;

use anyhow::{Context, bail};

/// Builds the client TLS configuration. With `load_roots` (an https:// server) it trusts the
/// platform's roots, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`; a plain-http run skips
/// reading the trust store.
pub fn client_config(load_roots: bool) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if load_roots {
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

fn load_platform_roots(roots: &mut rustls::RootCertStore) -> anyhow::Result<()> {
    let loaded = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded
            .errors
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        bail!(
            "no trusted CA certificates found {why}: install ca-certificates, or set SSL_CERT_FILE to a PEM bundle"
        );
    }
    Ok(())
}
