//! Checking a SAML 2.0 metadata document before IAM ever sees it: real XML, an identity provider's
//! `EntityDescriptor`, and signing certificates that parse and have not expired.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The SAML 2.0 metadata namespace (`md:`).
pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// The XML signature namespace (`ds:`), home of `X509Certificate`.
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// A metadata document that passed every check, with what the stack reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The document exactly as it goes to IAM.
    pub document: String,
    /// The earliest `NotAfter` of the signing certificates: sign-ins fail after it.
    pub certificate_expiry: OffsetDateTime,
    /// Lower-case hex SHA-256 of `document`.
    pub sha256: String,
}

impl Metadata {
    /// `certificate_expiry` as RFC 3339, e.g. `2027-03-01T12:00:00Z`.
    pub fn certificate_expiry_rfc3339(&self) -> String {
        rfc3339(self.certificate_expiry)
    }
}

/// Checks `document` as of `now`. The error says what is wrong and what is expected.
pub fn validate(document: String, now: OffsetDateTime) -> Result<Metadata, String> {
    // A byte-order mark is legal in a file but not inside IAM's string parameter.
    let document = match document.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => document,
    };
    let certificate_expiry = earliest_signing_expiry(&document, now)?;
    let sha256 = format!("{:x}", Sha256::digest(document.as_bytes()));
    Ok(Metadata {
        document,
        certificate_expiry,
        sha256,
    })
}

fn earliest_signing_expiry(document: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let xml = roxmltree::Document::parse(document)
        .map_err(|error| format!("is not well-formed XML: {error}"))?;
    let root = xml.root_element();
    if !is(root, SAML_METADATA_NS, "EntityDescriptor") {
        return Err(format!(
            "is not SAML 2.0 metadata: the root element is {}, expected EntityDescriptor in the namespace {SAML_METADATA_NS}",
            describe(root)
        ));
    }
    let identity_providers: Vec<_> = root
        .children()
        .filter(|node| is(*node, SAML_METADATA_NS, "IDPSSODescriptor"))
        .collect();
    if identity_providers.is_empty() {
        return Err(
            "describes no identity provider: the EntityDescriptor has no IDPSSODescriptor"
                .to_owned(),
        );
    }
    let signing_certificates: Vec<_> = identity_providers
        .iter()
        .flat_map(|idp| idp.children())
        .filter(|node| is(*node, SAML_METADATA_NS, "KeyDescriptor"))
        // A KeyDescriptor without `use` serves both signing and encryption.
        .filter(|key| key.attribute("use").is_none_or(|usage| usage == "signing"))
        .flat_map(|key| {
            key.descendants()
                .filter(|node| is(*node, XMLDSIG_NS, "X509Certificate"))
        })
        .collect();
    if signing_certificates.is_empty() {
        return Err("has no signing certificate: expected a KeyDescriptor with use=\"signing\" (or no use) \
                    holding a ds:X509Certificate in the IDPSSODescriptor"
            .to_owned());
    }

    let mut earliest: Option<OffsetDateTime> = None;
    for (index, element) in signing_certificates.iter().enumerate() {
        let number = index + 1;
        let text: String = element
            .text()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|error| format!("signing certificate {number} is not base64: {error}"))?;
        let (_, certificate) = x509_parser::parse_x509_certificate(&der).map_err(|error| {
            format!("signing certificate {number} is not a valid X.509 certificate: {error}")
        })?;
        let not_after = certificate.validity().not_after.to_datetime();
        // IAM would take it, but assertions signed with an expired certificate are a sign-in
        // outage waiting to be noticed: refuse now, while the stack operation can say why.
        if not_after <= now {
            return Err(format!(
                "has an expired signing certificate: certificate {number} ({}) expired on {}; \
                 renew the identity provider's signing certificate and use its new metadata",
                certificate.subject(),
                rfc3339(not_after)
            ));
        }
        earliest = Some(earliest.map_or(not_after, |known| known.min(not_after)));
    }
    earliest.ok_or_else(|| "has no signing certificate".to_owned())
}

fn is(node: roxmltree::Node, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(namespace)
}

fn describe(node: roxmltree::Node) -> String {
    match node.tag_name().namespace() {
        Some(namespace) => format!("{} in the namespace {namespace}", node.tag_name().name()),
        None => format!("{} (no namespace)", node.tag_name().name()),
    }
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn text_that_is_not_xml_is_named_as_such() {
        let error = validate("not <xml".into(), now()).unwrap_err();
        assert!(error.starts_with("is not well-formed XML"), "{error}");
    }

    #[test]
    fn an_entity_descriptor_outside_the_saml_namespace_is_refused() {
        let error = validate(
            r#"<EntityDescriptor entityID="x"><IDPSSODescriptor/></EntityDescriptor>"#.into(),
            now(),
        )
        .unwrap_err();
        assert!(error.contains("EntityDescriptor (no namespace)"), "{error}");
        assert!(error.contains(SAML_METADATA_NS), "{error}");
    }

    #[test]
    fn a_service_provider_is_not_an_identity_provider() {
        let doc = format!(
            r#"<md:EntityDescriptor xmlns:md="{SAML_METADATA_NS}" entityID="x"><md:SPSSODescriptor/></md:EntityDescriptor>"#
        );
        let error = validate(doc, now()).unwrap_err();
        assert!(error.contains("no IDPSSODescriptor"), "{error}");
    }

    #[test]
    fn an_encryption_only_key_is_not_a_signing_certificate() {
        let doc = format!(
            r#"<EntityDescriptor xmlns="{SAML_METADATA_NS}" entityID="x"><IDPSSODescriptor>
               <KeyDescriptor use="encryption"><KeyInfo xmlns="{XMLDSIG_NS}"><X509Data><X509Certificate>AAAA</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
               </IDPSSODescriptor></EntityDescriptor>"#
        );
        let error = validate(doc, now()).unwrap_err();
        assert!(error.contains("has no signing certificate"), "{error}");
    }

    #[test]
    fn a_certificate_that_does_not_parse_is_named_by_its_position() {
        let doc = format!(
            r#"<EntityDescriptor xmlns="{SAML_METADATA_NS}" entityID="x"><IDPSSODescriptor>
               <KeyDescriptor><KeyInfo xmlns="{XMLDSIG_NS}"><X509Data><X509Certificate>
               aGVsbG8gd29ybGQ=
               </X509Certificate></X509Data></KeyInfo></KeyDescriptor>
               </IDPSSODescriptor></EntityDescriptor>"#
        );
        let error = validate(doc, now()).unwrap_err();
        assert!(
            error.contains("signing certificate 1 is not a valid X.509 certificate"),
            "{error}"
        );
    }

    #[test]
    fn rfc3339_of_a_whole_second() {
        assert_eq!(
            rfc3339(time::macros::datetime!(2031-07-04 08:09:10 UTC)),
            "2031-07-04T08:09:10Z"
        );
    }
}
