//! Whether two SAML metadata documents describe the same identity provider as far as IAM's
//! checks of an assertion go: the issuer (entityID) and the signing certificates.

use std::collections::BTreeSet;

use saml_provider::metadata::{SAML_METADATA_NS, XMLDSIG_NS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub entity_id: String,
    /// Base64 DER, whitespace removed.
    pub signing_certificates: BTreeSet<String>,
}

impl Signer {
    pub fn of(document: &str) -> Result<Self, String> {
        let document = document.trim_start_matches('\u{feff}');
        let xml = roxmltree::Document::parse(document)
            .map_err(|error| format!("is not well-formed XML: {error}"))?;
        let root = xml.root_element();
        let is = |node: &roxmltree::Node, namespace: &str, name: &str| {
            node.is_element()
                && node.tag_name().name() == name
                && node.tag_name().namespace() == Some(namespace)
        };
        if !is(&root, SAML_METADATA_NS, "EntityDescriptor") {
            return Err("is not SAML 2.0 metadata (no md:EntityDescriptor)".to_owned());
        }
        let signing_certificates = root
            .children()
            .filter(|node| is(node, SAML_METADATA_NS, "IDPSSODescriptor"))
            .flat_map(|idp| idp.children())
            .filter(|node| is(node, SAML_METADATA_NS, "KeyDescriptor"))
            .filter(|key| key.attribute("use").is_none_or(|usage| usage == "signing"))
            .flat_map(|key| key.descendants())
            .filter(|node| is(node, XMLDSIG_NS, "X509Certificate"))
            .map(|node| {
                node.text()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect()
            })
            .collect();
        Ok(Self {
            entity_id: root.attribute("entityID").unwrap_or_default().to_owned(),
            signing_certificates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(entity: &str, certificate: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="{SAML_METADATA_NS}" entityID="{entity}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{XMLDSIG_NS}"><ds:X509Data>
      <ds:X509Certificate>
        {certificate}
      </ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="{XMLDSIG_NS}"><ds:X509Data>
      <ds:X509Certificate>ENCRYPTION</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    #[test]
    fn signing_certificates_and_issuer_are_compared_not_formatting() {
        let a = Signer::of(&document("https://idp/1", "AAAA BBBB")).unwrap();
        let b = Signer::of(&format!("\n{}\n", document("https://idp/1", "AAAABBBB"))).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.signing_certificates,
            BTreeSet::from(["AAAABBBB".to_owned()])
        );
        let rotated = Signer::of(&document("https://idp/1", "CCCC")).unwrap();
        assert_ne!(a, rotated);
        assert!(Signer::of("<x/>").is_err());
    }
}
