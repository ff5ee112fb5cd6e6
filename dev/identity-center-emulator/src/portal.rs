//! The access portal's unauthenticated SAML metadata document (docs/identity-center-console-api.md §5), so a local run can
//! feed the IAM SAML provider from the application's `metadataUrl`.

use anyhow::Context as _;
use base64::Engine as _;

/// The IdP signing certificate of one application.
#[derive(Clone)]
pub(crate) struct Certificate {
    /// Base64 DER, as `<ds:X509Certificate>` holds it.
    pub der_base64: String,
}

/// How long a generated certificate is valid. ASSUMPTION: no source says; five years
/// is a common IdP default.
const VALIDITY_DAYS: i64 = 5 * 365;

/// A fresh self-signed RSA-2048 / SHA-256 certificate.
pub(crate) fn new_certificate(common_name: &str) -> anyhow::Result<Certificate> {
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).context("certificate parameters")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "identity-center-emulator");
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .context("clock")?;
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).context("RSA key generation")?;
    let certificate = params.self_signed(&key).context("self-signing")?;
    Ok(Certificate {
        der_base64: base64::engine::general_purpose::STANDARD.encode(certificate.der()),
    })
}

/// The account and `ins-…` id a portal token stands for: `base64("<account>_ins-<hex>")`.
pub(crate) fn decode_token(token: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (account, instance_id) = text.split_once('_')?;
    Some((account.to_string(), instance_id.to_string()))
}

/// An `EntityDescriptor` shaped like Identity Center's: one signing key, SSO and SLO endpoints.
pub(crate) fn metadata_xml(
    issuer: &str,
    login: &str,
    logout: &str,
    certificate: &Certificate,
) -> String {
    let (issuer, login, logout) = (escape(issuer), escape(login), escape(logout));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{issuer}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{certificate}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{logout}"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{logout}"/>
    <md:NameIDFormat/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{login}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{login}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
        certificate = certificate.der_base64,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
