//! An https ResponseURL and CloudFormation endpoint: TLS fronts on loopback, with a throw-away CA
//! the functions trust through `SSL_CERT_FILE`, passing the decrypted bytes to the plain-http
//! response bucket and CloudFormation stand-in. Every cold start makes new connections, so every
//! answer pays full TLS handshakes and certificate verifications against the function's trust
//! store, as it does against S3 and CloudFormation.

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
    /// Starts one front per backend, all with certificates of one CA written to `dir/ca.pem`.
    pub async fn start(backends: &[SocketAddr], dir: &Path) -> anyhow::Result<Vec<Self>> {
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
        // Absolute: a function may change directory before it reads SSL_CERT_FILE (the Python
        // peer's wrapper does), and a relative path then names nothing.
        let ca_pem_file = std::path::absolute(dir.join("ca.pem"))?;
        std::fs::write(&ca_pem_file, ca.pem())
            .with_context(|| format!("writing {}", ca_pem_file.display()))?;

        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![server.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )?,
        );
        let mut fronts = Vec::with_capacity(backends.len());
        for &backend in backends {
            fronts.push(Self::serve(backend, Arc::clone(&config), ca_pem_file.clone()).await?);
        }
        Ok(fronts)
    }

    async fn serve(
        backend: SocketAddr,
        config: Arc<rustls::ServerConfig>,
        ca_pem_file: PathBuf,
    ) -> anyhow::Result<Self> {
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
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
