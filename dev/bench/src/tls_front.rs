//! An https ResponseURL: a TLS front on loopback, with a throw-away CA the functions trust through
//! `SSL_CERT_FILE`, passing the decrypted bytes to the plain-http response bucket. Every cold
//! start makes a new connection, so every answer pays a full TLS handshake and a certificate
//! verification against the function's trust store, as it does against S3.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct TlsFront {
    pub port: u16,
    pub ca_pem_file: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Starts the front for `backend`, writing the CA certificate to `dir/ca.pem`.
    pub async fn start(backend: SocketAddr, dir: &Path) -> anyhow::Result<Self> {
        // rcgen's default ECDSA P-256 keys (S3 presents an RSA-2048 chain, two certificates
        // deep: a client verifies either in well under a millisecond on a full core).
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "connect-sso bench CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let server_key = rcgen::KeyPair::generate()?;
        let server = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?
            .signed_by(&server_key, &issuer)?;

        std::fs::create_dir_all(dir)?;
        let ca_pem_file = dir.join("ca.pem");
        std::fs::write(&ca_pem_file, ca.pem())
            .with_context(|| format!("writing {}", ca_pem_file.display()))?;

        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![server.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            port,
            ca_pem_file,
            server,
        })
    }

    /// The https form of one of the bucket's `http://127.0.0.1:<port>/...` URLs.
    pub fn https_url(&self, http_url: &str) -> String {
        let path = http_url
            .strip_prefix("http://")
            .and_then(|rest| rest.find('/').map(|slash| &rest[slash..]))
            .unwrap_or("/");
        format!("https://localhost:{}{path}", self.port)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.server.abort();
    }
}
