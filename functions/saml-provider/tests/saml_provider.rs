//! `Custom::SamlProviderFromMetadata` against moto's IAM (behind a tag-keeping proxy) and a local
//! metadata server. Run with `scripts/with-moto cargo test -p saml-provider`.

mod support;

use saml_provider::{MetadataDownload, default_name};
use serde_json::json;
use support::*;

const OWNER_STACK: &str = "connect-sso:stack-id";
const OWNER_LOGICAL: &str = "connect-sso:logical-resource-id";

fn tag(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[tokio::test]
async fn create_update_and_delete_keep_the_iam_provider_in_step_with_the_metadata() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let first_expiry = days_from_now(400);
    let first = metadata_until(first_expiry);
    let server = MetadataServer::start(&first).await;
    let resource = provider_via(&iam, local_download());
    let stack = Stack::new("lifecycle");
    let properties = json!({"MetadataUrl": server.url("/metadata"), "Tags": [{"Key": "team", "Value": "contact-center"}]});

    // Create: a provider named after the stack and logical id, with the document and the tags.
    let created = respond(&resource, stack.create("SamlProvider", properties.clone())).await;
    let arn = succeeded(&created);
    let name = default_name(&stack.name, "SamlProvider");
    assert_eq!(name, format!("{}-SamlProvider", stack.name));
    assert!(
        arn.starts_with("arn:aws:iam::") && arn.ends_with(&format!(":saml-provider/{name}")),
        "{arn}"
    );
    assert_eq!(created["Data"]["Arn"], arn.as_str());
    assert_eq!(created["Data"]["Name"], name.as_str());
    assert_eq!(
        created["Data"]["CertificateExpiry"],
        first_expiry
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(created["Data"]["MetadataSha256"], sha256_hex(&first));
    assert_eq!(moto.document(&arn).await.as_deref(), Some(first.as_str()));
    assert_eq!(
        iam.tags(&arn).unwrap(),
        vec![
            tag(OWNER_STACK, &stack.id),
            tag(OWNER_LOGICAL, "SamlProvider"),
            tag("team", "contact-center")
        ]
    );
    assert_eq!(server.requests(), vec!["/metadata"]);

    // Update with the same metadata: nothing is written.
    iam.clear_calls();
    let unchanged = respond(
        &resource,
        stack.update("SamlProvider", &arn, properties.clone(), properties.clone()),
    )
    .await;
    assert_eq!(succeeded(&unchanged), arn);
    assert_eq!(unchanged["Data"]["MetadataSha256"], sha256_hex(&first));
    assert_eq!(iam.count("UpdateSAMLProvider"), 0, "{:?}", iam.calls());
    assert_eq!(
        iam.count("CreateSAMLProvider")
            + iam.count("TagSAMLProvider")
            + iam.count("UntagSAMLProvider"),
        0
    );
    assert_eq!(moto.document(&arn).await.as_deref(), Some(first.as_str()));

    // The identity provider rotates its certificate: the provider is updated in place.
    let second_expiry = days_from_now(800);
    let second = metadata_until(second_expiry);
    server.serve_document(&second);
    iam.clear_calls();
    let changed = respond(
        &resource,
        stack.update("SamlProvider", &arn, properties.clone(), properties.clone()),
    )
    .await;
    assert_eq!(succeeded(&changed), arn);
    assert_eq!(
        changed["Data"]["CertificateExpiry"],
        second_expiry
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(changed["Data"]["MetadataSha256"], sha256_hex(&second));
    assert_eq!(iam.count("UpdateSAMLProvider"), 1, "{:?}", iam.calls());
    assert_eq!(iam.count("CreateSAMLProvider"), 0);
    assert_eq!(moto.document(&arn).await.as_deref(), Some(second.as_str()));

    // Delete removes it; a repeated Delete finds it gone and succeeds.
    iam.clear_calls();
    let deleted = respond(
        &resource,
        stack.delete("SamlProvider", &arn, properties.clone()),
    )
    .await;
    assert_eq!(succeeded(&deleted), arn);
    assert_eq!(iam.count("DeleteSAMLProvider"), 1);
    assert_eq!(moto.document(&arn).await, None);
    assert!(!moto.provider_arns().await.contains(&arn));
    iam.clear_calls();
    let again = respond(&resource, stack.delete("SamlProvider", &arn, properties)).await;
    assert_eq!(succeeded(&again), arn);
    assert_eq!(iam.count("DeleteSAMLProvider"), 0, "{:?}", iam.calls());
}

#[tokio::test]
async fn a_retried_create_adopts_the_provider_it_made() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let document = metadata_until(days_from_now(300));
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("retry");
    let properties = json!({"MetadataDocument": document});

    let first = respond(&resource, stack.create("Provider", properties.clone())).await;
    let arn = succeeded(&first);
    let second = respond(&resource, stack.create("Provider", properties)).await;
    assert_eq!(succeeded(&second), arn);
    assert_eq!(second["Data"], first["Data"]);
    assert_eq!(iam.count("CreateSAMLProvider"), 1, "{:?}", iam.calls());
    assert_eq!(iam.count("UpdateSAMLProvider"), 0, "{:?}", iam.calls());
    let name = default_name(&stack.name, "Provider");
    let same_name: Vec<_> = moto
        .provider_arns()
        .await
        .into_iter()
        .filter(|arn| arn.ends_with(&format!("/{name}")))
        .collect();
    assert_eq!(same_name, vec![arn.clone()]);
    assert_eq!(
        moto.document(&arn).await.as_deref(),
        Some(document.as_str())
    );
}

#[tokio::test]
async fn a_name_held_by_a_provider_made_elsewhere_is_refused_and_left_alone() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let name = unique("Foreign");
    let theirs = metadata_until(days_from_now(100));
    let foreign_arn = moto.create_foreign(&name, &theirs).await;
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("foreign");

    let ours = metadata_until(days_from_now(300));
    let response = respond(
        &resource,
        stack.create("Provider", json!({"MetadataDocument": ours, "Name": name})),
    )
    .await;
    let reason = failed_reason(&response);
    assert!(
        reason.contains("Name") && reason.contains(&name) && reason.contains("taken"),
        "{reason}"
    );
    assert!(reason.contains(&foreign_arn), "{reason}");
    assert_eq!(
        iam.count("CreateSAMLProvider")
            + iam.count("UpdateSAMLProvider")
            + iam.count("TagSAMLProvider"),
        0
    );
    assert_eq!(
        moto.document(&foreign_arn).await.as_deref(),
        Some(theirs.as_str())
    );

    // The physical id of the FAILED create is no ARN: its rollback Delete touches nothing.
    let marker = response["PhysicalResourceId"].as_str().unwrap();
    assert!(saml_provider::provider_name(marker).is_none(), "{marker}");
    iam.clear_calls();
    let rollback = respond(
        &resource,
        stack.delete(
            "Provider",
            marker,
            json!({"MetadataDocument": ours, "Name": name}),
        ),
    )
    .await;
    succeeded(&rollback);
    assert!(iam.calls().is_empty(), "{:?}", iam.calls());
    assert_eq!(
        moto.document(&foreign_arn).await.as_deref(),
        Some(theirs.as_str())
    );
}

#[tokio::test]
async fn a_name_held_by_another_stacks_provider_is_refused() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let name = unique("Shared");
    let resource = provider_via(&iam, MetadataDownload::default());
    let (one, other) = (Stack::new("one"), Stack::new("other"));
    let first = metadata_until(days_from_now(300));
    let arn = succeeded(
        &respond(
            &resource,
            one.create("Provider", json!({"MetadataDocument": first, "Name": name})),
        )
        .await,
    );

    let second = metadata_until(days_from_now(300));
    let response = respond(
        &resource,
        other.create(
            "Provider",
            json!({"MetadataDocument": second, "Name": name}),
        ),
    )
    .await;
    let reason = failed_reason(&response);
    assert!(
        reason.contains("taken") && reason.contains(&other.name),
        "{reason}"
    );
    assert_eq!(moto.document(&arn).await.as_deref(), Some(first.as_str()));
    assert_eq!(iam.tags(&arn).unwrap()[0], tag(OWNER_STACK, &one.id));

    // Nor may the other stack delete it, given its ARN.
    iam.clear_calls();
    succeeded(
        &respond(
            &resource,
            other.delete("Provider", &arn, json!({"MetadataDocument": second})),
        )
        .await,
    );
    assert_eq!(iam.count("DeleteSAMLProvider"), 0, "{:?}", iam.calls());
    assert_eq!(moto.document(&arn).await.as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn a_new_name_replaces_the_provider_and_leaves_the_old_one_to_the_cleanup_delete() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("rename");
    let document = metadata_until(days_from_now(300));
    let (old_name, new_name) = (unique("Before"), unique("After"));
    let old = json!({"MetadataDocument": document, "Name": old_name});
    let new = json!({"MetadataDocument": document, "Name": new_name});
    let old_arn = succeeded(&respond(&resource, stack.create("Provider", old.clone())).await);

    let renamed = respond(
        &resource,
        stack.update("Provider", &old_arn, new.clone(), old.clone()),
    )
    .await;
    let new_arn = succeeded(&renamed);
    assert!(
        new_arn.ends_with(&format!(":saml-provider/{new_name}")),
        "{new_arn}"
    );
    assert_eq!(renamed["Data"]["Name"], new_name.as_str());
    assert_eq!(
        moto.document(&new_arn).await.as_deref(),
        Some(document.as_str())
    );
    assert_eq!(
        moto.document(&old_arn).await.as_deref(),
        Some(document.as_str()),
        "the old provider waits for cleanup"
    );
    assert_eq!(iam.count("DeleteSAMLProvider"), 0);

    // CloudFormation's cleanup Delete of the old id removes only the old provider.
    succeeded(&respond(&resource, stack.delete("Provider", &old_arn, old)).await);
    assert_eq!(moto.document(&old_arn).await, None);
    assert_eq!(
        moto.document(&new_arn).await.as_deref(),
        Some(document.as_str())
    );
    succeeded(&respond(&resource, stack.delete("Provider", &new_arn, new)).await);
    assert_eq!(moto.document(&new_arn).await, None);
}

#[tokio::test]
async fn an_update_converges_the_tags_it_set_and_keeps_ownership() {
    let iam = iam_proxy().await;
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("tags");
    let document = metadata_until(days_from_now(300));
    let old = json!({"MetadataDocument": document, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]});
    let new = json!({"MetadataDocument": document, "Tags": [{"Key": "a", "Value": "10"}]});
    let arn = succeeded(&respond(&resource, stack.create("Provider", old.clone())).await);

    succeeded(&respond(&resource, stack.update("Provider", &arn, new, old)).await);
    assert_eq!(
        iam.tags(&arn).unwrap(),
        vec![
            tag(OWNER_STACK, &stack.id),
            tag(OWNER_LOGICAL, "Provider"),
            tag("a", "10")
        ]
    );
    assert_eq!(iam.count("UpdateSAMLProvider"), 0);
}

#[tokio::test]
async fn an_update_never_writes_to_a_provider_it_did_not_make() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let name = unique("NotOurs");
    let theirs = metadata_until(days_from_now(100));
    let foreign_arn = moto.create_foreign(&name, &theirs).await;
    let resource = provider_via(&iam, MetadataDownload::default());
    let properties = json!({"MetadataDocument": metadata_until(days_from_now(300)), "Name": name});

    let response = respond(
        &resource,
        Stack::new("hijack").update("Provider", &foreign_arn, properties.clone(), properties),
    )
    .await;
    let reason = failed_reason(&response);
    assert!(
        reason.contains(&foreign_arn) && reason.contains("ownership tags"),
        "{reason}"
    );
    assert_eq!(
        iam.count("UpdateSAMLProvider") + iam.count("TagSAMLProvider"),
        0,
        "{:?}",
        iam.calls()
    );
    assert_eq!(
        moto.document(&foreign_arn).await.as_deref(),
        Some(theirs.as_str())
    );
}

#[tokio::test]
async fn an_update_makes_a_vanished_provider_again() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("vanished");
    let document = metadata_until(days_from_now(300));
    let properties = json!({"MetadataDocument": document});
    let arn = succeeded(&respond(&resource, stack.create("Provider", properties.clone())).await);
    iam_client(&iam.endpoint)
        .delete_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(moto.document(&arn).await, None);

    let response = respond(
        &resource,
        stack.update("Provider", &arn, properties.clone(), properties),
    )
    .await;
    assert_eq!(succeeded(&response), arn);
    assert_eq!(
        moto.document(&arn).await.as_deref(),
        Some(document.as_str())
    );
    assert_eq!(
        iam.tags(&arn).unwrap()[..2],
        [tag(OWNER_STACK, &stack.id), tag(OWNER_LOGICAL, "Provider")]
    );
}

#[tokio::test]
async fn deleting_an_id_this_function_did_not_make_makes_no_call() {
    let iam = iam_proxy().await;
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("unknown");
    for id in [
        "not-an-arn",
        "arn:aws:iam::123456789012:role/Connect",
        "custom-resource:create-failed:Provider:r1",
    ] {
        let response = respond(
            &resource,
            stack.delete(
                "Provider",
                id,
                json!({"MetadataUrl": "https://idp.example/m"}),
            ),
        )
        .await;
        assert_eq!(succeeded(&response), id);
    }
    assert!(iam.calls().is_empty(), "{:?}", iam.calls());
}

#[tokio::test]
async fn a_server_error_is_retried_until_the_metadata_arrives() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let document = metadata_until(days_from_now(200));
    let server = MetadataServer::start(&document).await;
    let resource = provider_via(&iam, local_download());
    let response = respond(
        &resource,
        Stack::new("flaky").create("Provider", json!({"MetadataUrl": server.url("/flaky")})),
    )
    .await;
    let arn = succeeded(&response);
    assert_eq!(server.requests(), vec!["/flaky", "/flaky", "/flaky"]);
    assert_eq!(
        moto.document(&arn).await.as_deref(),
        Some(document.as_str())
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: a FAILED whose Reason names the problem, and IAM never touched.

/// Creates with `properties` and returns the Reason, checking that no IAM call was made.
async fn refused(download: MetadataDownload, properties: serde_json::Value) -> String {
    let iam = iam_proxy().await;
    let resource = provider_via(&iam, download);
    let response = respond(&resource, Stack::new("bad").create("Provider", properties)).await;
    let reason = failed_reason(&response);
    assert!(
        iam.calls().is_empty(),
        "IAM was called for bad input: {:?}",
        iam.calls()
    );
    reason
}

#[tokio::test]
async fn a_document_that_is_not_xml_is_refused() {
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": "<md:EntityDescriptor oops"}),
    )
    .await;
    assert!(
        reason.contains("MetadataDocument is not well-formed XML"),
        "{reason}"
    );
}

#[tokio::test]
async fn xml_that_is_not_saml_metadata_is_refused() {
    let server = MetadataServer::start("<html><body>Sign in</body></html>").await;
    let reason = refused(
        local_download(),
        json!({"MetadataUrl": server.url("/metadata")}),
    )
    .await;
    let host = server.base.trim_start_matches("http://");
    assert!(
        reason.contains(&format!(
            "the metadata at MetadataUrl (host {host}) is not SAML 2.0 metadata"
        )),
        "{reason}"
    );
    assert!(
        reason.contains("root element is html") && reason.contains("EntityDescriptor"),
        "{reason}"
    );
}

#[tokio::test]
async fn metadata_without_a_signing_certificate_is_refused() {
    let encryption_only = idp_metadata(&[(Some("encryption"), &certificate(days_from_now(300)))]);
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": encryption_only}),
    )
    .await;
    assert!(reason.contains("has no signing certificate"), "{reason}");
}

#[tokio::test]
async fn an_expired_signing_certificate_is_refused_with_its_expiry_date() {
    let expired_on = days_from_now(-3);
    // A valid encryption key does not save an expired signing one; a use-less key signs too.
    let document = idp_metadata(&[
        (Some("encryption"), &certificate(days_from_now(300))),
        (None, &certificate(expired_on)),
    ]);
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": document}),
    )
    .await;
    let date = expired_on
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(
        reason.contains("expired signing certificate")
            && reason.contains(&format!("expired on {date}")),
        "{reason}"
    );
}

#[tokio::test]
async fn an_http_404_names_the_host_and_the_status() {
    let server = MetadataServer::start("").await;
    let reason = refused(
        local_download(),
        json!({"MetadataUrl": server.url("/missing")}),
    )
    .await;
    let host = server.base.trim_start_matches("http://");
    assert!(
        reason.contains(host) && reason.contains("HTTP 404 Not Found"),
        "{reason}"
    );
    assert_eq!(server.requests(), vec!["/missing"], "a 404 is not retried");
}

#[tokio::test]
async fn a_persistent_server_error_fails_after_the_retries() {
    let server = MetadataServer::start("").await;
    let download = MetadataDownload {
        attempts: 3,
        ..local_download()
    };
    let reason = refused(download, json!({"MetadataUrl": server.url("/down")})).await;
    assert!(
        reason.contains("after 3 attempts") && reason.contains("HTTP 503"),
        "{reason}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_20_mb_body_is_refused_without_reading_it_all() {
    let server = MetadataServer::start("").await;
    let reason = refused(
        local_download(),
        json!({"MetadataUrl": server.url("/huge")}),
    )
    .await;
    assert!(
        reason.contains("larger than the 1 MiB limit") && reason.contains("stopped reading"),
        "{reason}"
    );
    assert!(
        reason.contains(server.base.trim_start_matches("http://")),
        "{reason}"
    );
    // What was produced is what was read, plus what the sockets' buffers held when the reader
    // stopped (a few MiB on loopback at most): far from all 20 MB.
    let produced = server.huge_bytes_produced();
    assert!(
        produced < HUGE_BYTES / 2,
        "{produced} bytes were produced for the reader"
    );
    let reason = refused(
        local_download(),
        json!({"MetadataUrl": server.url("/huge-declared")}),
    )
    .await;
    assert!(
        reason.contains(&format!("Content-Length {HUGE_BYTES}")),
        "{reason}"
    );
    assert_eq!(
        server.requests(),
        vec!["/huge", "/huge-declared"],
        "too large is not retried"
    );
}

#[tokio::test]
async fn a_redirect_loop_stops_after_three_redirects() {
    let server = MetadataServer::start("").await;
    let reason = refused(
        local_download(),
        json!({"MetadataUrl": server.url("/loop")}),
    )
    .await;
    assert!(
        reason.contains("more than 3 redirects") && reason.contains("HTTP 302"),
        "{reason}"
    );
    assert!(
        reason.contains(server.base.trim_start_matches("http://")),
        "{reason}"
    );
    assert_eq!(
        server.requests().len(),
        4,
        "the first request and three redirects"
    );
}

#[tokio::test]
async fn a_plain_http_url_is_refused_without_the_local_testing_switch() {
    let server = MetadataServer::start(&metadata_until(days_from_now(300))).await;
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataUrl": server.url("/metadata")}),
    )
    .await;
    assert!(
        reason.contains("MetadataUrl") && reason.contains("https is required"),
        "{reason}"
    );
    assert!(
        reason.contains("CONNECT_SSO_ALLOW_HTTP_METADATA=true"),
        "{reason}"
    );
    assert!(server.requests().is_empty(), "nothing was downloaded");
}

#[tokio::test]
async fn exactly_one_metadata_source_is_required() {
    let document = metadata_until(days_from_now(300));
    let both = json!({"MetadataDocument": document, "MetadataUrl": "https://idp.example/metadata"});
    let reason = refused(MetadataDownload::default(), both).await;
    assert!(
        reason.contains("exactly one of MetadataUrl or MetadataDocument"),
        "{reason}"
    );
    let reason = refused(MetadataDownload::default(), json!({"Name": "x"})).await;
    assert!(
        reason.contains("one of MetadataUrl")
            && reason.contains("MetadataDocument")
            && reason.contains("required"),
        "{reason}"
    );
}

#[tokio::test]
async fn bad_names_and_tags_are_refused_naming_the_property() {
    let document = metadata_until(days_from_now(300));
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": document, "Name": "Connect SSO"}),
    )
    .await;
    assert!(
        reason.contains("invalid property Name")
            && reason.contains("\"Connect SSO\"")
            && reason.contains("1 to 128"),
        "{reason}"
    );
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": document, "Name": "n".repeat(129)}),
    )
    .await;
    assert!(reason.contains("invalid property Name"), "{reason}");
    let reserved = json!({"MetadataDocument": document, "Tags": [{"Key": "connect-sso:stack-id", "Value": "x"}]});
    let reason = refused(MetadataDownload::default(), reserved).await;
    assert!(
        reason.contains("Tags[0].Key") && reason.contains("reserved"),
        "{reason}"
    );
    let reason = refused(
        MetadataDownload::default(),
        json!({"MetadataDocument": document, "MetadataUrll": "x"}),
    )
    .await;
    assert!(reason.contains("unknown field `MetadataUrll`"), "{reason}");
}
