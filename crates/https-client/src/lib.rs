//! One TLS configuration for every outgoing connection of the process, built once and cheaply.
//!
//! Each function talks https to two kinds of hosts: AWS service endpoints (through the AWS SDK)
//! and the pre-signed S3 ResponseURL or the Identity Center metadata URL (through `reqwest`).
//! Left to themselves, the SDK's client and every `reqwest` client each load the system's root
//! certificates (a scan of `/etc/ssl/certs` and a parse of every certificate found), which is most
//! of a cold start at 128 MB's share of a CPU. Here the trust store is the Mozilla roots compiled
//! into the binary (`webpki-roots`, already parsed: nothing to read or decode), plus the
//! certificates of the PEM file `SSL_CERT_FILE` names when it is set (corporate roots, a test's
//! throw-away CA). [`client_config`] builds it on first use and every client shares it:
//!
//! - `reqwest` clients start from [`reqwest_builder`];
//! - the AWS SDK gets [`sdk::http_client`] (feature `sdk`), or a whole `SdkConfig` from
//!   [`sdk::load_config`], which also honours `AWS_ENDPOINT_URL*` as `aws_config` always does.
//!
//! [`retry`] holds the waits between attempts of the calls the SDK does not retry itself.
//!
//! rustls with the ring provider, the only crypto library linked (no AWS-LC, no OpenSSL): the SDK
//! and `reqwest` bring none of their own because every client starts here (docs/tls.md).

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub mod retry;
#[cfg(feature = "sdk")]
pub mod sdk;
#[cfg(feature = "sdk")]
pub mod signed;

/// The environment variable naming a PEM file of extra trusted root certificates (the name
/// OpenSSL, rustls-native-certs and most tools use).
pub const CERT_FILE_ENV: &str = "SSL_CERT_FILE";

/// The process's TLS client configuration: built on first use, then shared.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let extra = std::env::var_os(CERT_FILE_ENV).map(std::path::PathBuf::from);
            Arc::new(build_client_config(extra.as_deref()))
        })
        .clone()
}

/// A TLS client configuration trusting the compiled-in roots and the certificates of
/// `extra_roots_pem` (a PEM file), if given. A file that cannot be read, or certificates that do
/// not parse, are logged and skipped: the compiled-in roots still work for AWS.
pub fn build_client_config(extra_roots_pem: Option<&std::path::Path>) -> rustls::ClientConfig {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_roots_pem {
        add_pem_roots(&mut roots, path);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // The ring provider supports TLS 1.2 and 1.3; this cannot happen, but a default
        // configuration is still better than a panic on a request path.
        Err(error) => {
            tracing::error!(%error, "TLS provider rejected the default protocol versions");
            rustls::ClientConfig::builder()
                .with_root_certificates(RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                })
                .with_no_client_auth()
        }
    };
    // HTTP/1.1 only: every AWS endpoint and S3 speak it, and it spares the HTTP/2 preamble.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

fn add_pem_roots(roots: &mut RootCertStore, path: &std::path::Path) {
    let certificates = match CertificateDer::pem_file_iter(path) {
        Ok(certificates) => certificates,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "{CERT_FILE_ENV}: cannot read the file; using the built-in roots only");
            return;
        }
    };
    let mut unreadable = 0usize;
    let parsed = certificates.filter_map(|certificate| match certificate {
        Ok(certificate) => Some(certificate),
        Err(_) => {
            unreadable += 1;
            None
        }
    });
    let (added, rejected) = roots.add_parsable_certificates(parsed.collect::<Vec<_>>());
    if unreadable + rejected > 0 || added == 0 {
        tracing::warn!(path = %path.display(), added, rejected = unreadable + rejected, "{CERT_FILE_ENV}: not every entry is a usable root certificate");
    }
}

/// A `reqwest` client builder using the shared TLS configuration (and so the shared trust store).
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    // `ClientConfig` clones share the parsed roots and the verifier (both behind `Arc`s).
    reqwest::Client::builder().tls_backend_preconfigured(client_config().as_ref().clone())
}
