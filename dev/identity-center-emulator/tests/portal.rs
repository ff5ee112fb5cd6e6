//! The portal's SAML metadata document, served without authentication.

mod common;

use base64::Engine as _;
use common::*;
use identity_center_emulator::Emulator;
use serde_json::json;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

fn signing_certificate(xml: &str) -> Vec<u8> {
    let document = roxmltree::Document::parse(xml).unwrap();
    let key = document
        .descendants()
        .find(|n| n.has_tag_name((MD, "KeyDescriptor")) && n.attribute("use") == Some("signing"))
        .unwrap();
    let text = key
        .descendants()
        .find(|n| n.has_tag_name((DS, "X509Certificate")))
        .unwrap()
        .text()
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

#[tokio::test]
async fn the_metadata_url_serves_a_signed_entity_descriptor_once_local() {
    let emulator = Emulator::start().await.unwrap();
    emulator.use_local_portal();
    let instance_id = create_app(&emulator, "metadata").await;
    let arn = application_arn(&emulator, &instance_id);

    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    let idp = &got["applicationInstance"]["identityProviderConfig"];
    let metadata_url = idp["metadataUrl"].as_str().unwrap().to_string();
    assert!(
        metadata_url.starts_with(&format!("{}/saml/metadata/", emulator.endpoint())),
        "{metadata_url}"
    );
    assert_eq!(
        emulator.metadata_url(&arn).as_deref(),
        Some(metadata_url.as_str())
    );

    // No Authorization header: the portal needs none.
    let response = test_support::http_client()
        .get(&metadata_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let xml = response.text().await.unwrap();
    assert_eq!(emulator.metadata_xml(&arn).as_deref(), Some(xml.as_str()));

    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert!(root.has_tag_name((MD, "EntityDescriptor")));
    assert_eq!(root.attribute("entityID"), idp["issuerUrl"].as_str());
    let sso = document
        .descendants()
        .find(|n| n.has_tag_name((MD, "SingleSignOnService")))
        .unwrap();
    assert_eq!(sso.attribute("Location"), idp["remoteLoginUrl"].as_str());

    let der = signing_certificate(&xml);
    let (_, certificate) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert!(certificate.validity().is_valid());
    let years = (certificate.validity().not_after.timestamp()
        - certificate.validity().not_before.timestamp())
        / (365 * 86400);
    assert!(years >= 4, "valid for {years} years");

    // The same document until the certificate rotates.
    assert_eq!(
        test_support::http_client()
            .get(&metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        xml
    );
    assert!(emulator.rotate_certificate(&arn));
    let rotated = test_support::http_client()
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(signing_certificate(&rotated), der);

    let fetches: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.api == "portal")
        .collect();
    assert_eq!(fetches.len(), 3);
    assert!(fetches.iter().all(|r| r.operation == "GetSamlMetadata"));
}

#[tokio::test]
async fn metadata_urls_name_the_aws_portal_by_default_and_unknown_tokens_are_404() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "aws portal").await;
    let arn = application_arn(&emulator, &instance_id);
    let metadata_url = emulator.metadata_url(&arn).unwrap();
    let path = metadata_url
        .strip_prefix("https://portal.sso.us-east-1.amazonaws.com")
        .unwrap();
    // The document is still served locally under the same path.
    assert_eq!(
        test_support::http_client()
            .get(format!("{}{path}", emulator.endpoint()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    emulator.delete_application_out_of_band(&arn);
    assert_eq!(
        test_support::http_client()
            .get(format!("{}{path}", emulator.endpoint()))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let garbage = test_support::http_client()
        .get(format!("{}/saml/metadata/not-base64!", emulator.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 404);
    assert!(emulator.metadata_xml(&arn).is_none());
}
