//! IAM as difficult as the real one may be, injected by the proxy in front of moto: throttling,
//! eventual consistency, small pages, and a provider name taken between look-up and create.
//! Each test asserts the difficulty was actually met. Run with
//! `scripts/with-moto cargo test -p saml-provider --test iam_faults`.

mod support;

use std::time::Duration;

use local_lambda::{FunctionProcess, Outcome, ResponseBucket};
use saml_provider::{MetadataDownload, default_name};
use serde_json::json;
use support::*;

const OWNER_STACK: &str = "connect-sso:stack-id";
const OWNER_LOGICAL: &str = "connect-sso:logical-resource-id";

fn owner_tags(stack: &Stack, logical_id: &str) -> Vec<(String, String)> {
    vec![
        (OWNER_STACK.to_owned(), stack.id.clone()),
        (OWNER_LOGICAL.to_owned(), logical_id.to_owned()),
    ]
}

/// Providers moto holds under `name`.
async fn named(moto: &Moto, name: &str) -> Vec<String> {
    moto.provider_arns()
        .await
        .into_iter()
        .filter(|arn| arn.ends_with(&format!(":saml-provider/{name}")))
        .collect()
}

#[tokio::test]
async fn throttled_iam_calls_are_retried_by_the_function_until_they_pass() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let stack = Stack::new("throttled");
    // The compiled function, so its own IAM client configuration is what meets the throttling.
    let function = FunctionProcess::spawn(
        env!("CARGO_BIN_EXE_saml-provider").as_ref(),
        &[
            ("AWS_ENDPOINT_URL_IAM".to_owned(), iam.endpoint.clone()),
            // The function obeys only its own stack (the template sets it to !Ref AWS::StackId).
            ("CONNECT_SSO_STACK_ID".to_owned(), stack.id.clone()),
        ],
    )
    .await
    .unwrap();
    function.initialised(Duration::from_secs(20)).await.unwrap();
    let bucket = ResponseBucket::start().await.unwrap();
    let mut event = stack.create(
        "Provider",
        json!({"MetadataDocument": metadata_until(days_from_now(200))}),
    );
    event["ResponseURL"] = bucket.url("create").into();

    // Four in a row: more than the SDK's default three attempts would survive.
    iam.throttle_next(4);
    let outcome = function
        .invoke(event.to_string(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));
    let answer = bucket
        .wait_for_document("create", Duration::from_secs(1))
        .await
        .unwrap();
    let arn = succeeded(&answer);
    assert_eq!(
        iam.throttled(),
        4,
        "the throttle was met: {:?}",
        iam.calls()
    );
    assert_eq!(
        named(&moto, &default_name(&stack.name, "Provider")).await,
        std::slice::from_ref(&arn)
    );
    assert_eq!(iam.tags(&arn).unwrap(), owner_tags(&stack, "Provider"));
}

#[tokio::test]
// assumption: iam-saml-provider-read-lag
async fn a_retried_create_adopts_a_provider_iam_does_not_show_yet() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("lagging");
    let properties = json!({"MetadataDocument": metadata_until(days_from_now(200))});

    iam.lag(Duration::from_secs(2));
    let first = succeeded(&respond(&resource, stack.create("Provider", properties.clone())).await);
    // The same request again at once (Lambda may deliver it twice): IAM neither lists the
    // provider nor finds it, but its name is taken.
    let again = respond(&resource, stack.create("Provider", properties.clone())).await;
    assert_eq!(succeeded(&again), first);
    assert!(iam.hidden() > 0, "the lag was met: {:?}", iam.calls());
    assert_eq!(
        named(&moto, &default_name(&stack.name, "Provider")).await,
        std::slice::from_ref(&first)
    );

    // An Update at once after a Create meets the same lag and still converges in place.
    let created = stack.create("Lagged", properties.clone());
    let arn = succeeded(&respond(&resource, created).await);
    let hidden_before = iam.hidden();
    let update = stack.update("Lagged", &arn, properties.clone(), properties);
    assert_eq!(succeeded(&respond(&resource, update).await), arn);
    assert!(iam.hidden() > hidden_before);
    assert_eq!(
        named(&moto, &default_name(&stack.name, "Lagged")).await,
        [arn]
    );
}

#[tokio::test]
// assumption: iam-saml-provider-read-lag
async fn a_delete_right_after_the_create_removes_the_provider_iam_does_not_show_yet() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("lagdelete");
    let properties = json!({"MetadataDocument": metadata_until(days_from_now(200))});

    iam.lag(Duration::from_secs(2));
    let arn = succeeded(&respond(&resource, stack.create("Provider", properties.clone())).await);
    let deleted = respond(&resource, stack.delete("Provider", &arn, properties)).await;
    assert_eq!(succeeded(&deleted), arn);
    assert!(iam.hidden() > 0, "the lag was met: {:?}", iam.calls());
    assert_eq!(iam.count("DeleteSAMLProvider"), 1, "{:?}", iam.calls());
    assert_eq!(
        moto.document(&arn).await,
        None,
        "the provider was left behind"
    );
}

#[tokio::test]
async fn two_creates_racing_for_one_name_end_with_one_provider_both_report() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("race");
    let properties = json!({"MetadataDocument": metadata_until(days_from_now(200))});

    // Both have looked the name up (free) before either creates.
    iam.pair_next_creates();
    let (one, two) = tokio::join!(
        respond(&resource, stack.create("Provider", properties.clone())),
        respond(&resource, stack.create("Provider", properties.clone())),
    );
    assert_eq!(iam.count("CreateSAMLProvider"), 2, "{:?}", iam.calls());
    let arn = succeeded(&one);
    assert_eq!(succeeded(&two), arn);
    assert_eq!(
        named(&moto, &default_name(&stack.name, "Provider")).await,
        std::slice::from_ref(&arn)
    );
    assert_eq!(iam.tags(&arn).unwrap(), owner_tags(&stack, "Provider"));
}

#[tokio::test]
async fn a_provider_appearing_between_look_up_and_create_is_adopted_only_if_ours() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("intruder");
    let properties = json!({"MetadataDocument": metadata_until(days_from_now(200))});

    // Our own earlier attempt (its tags name this stack and resource): adopted, one provider.
    iam.intrude_next_create(owner_tags(&stack, "Ours"));
    let ours = respond(&resource, stack.create("Ours", properties.clone())).await;
    let arn = succeeded(&ours);
    assert_eq!(
        named(&moto, &default_name(&stack.name, "Ours")).await,
        std::slice::from_ref(&arn)
    );
    assert_eq!(
        moto.document(&arn).await.as_deref(),
        properties["MetadataDocument"].as_str()
    );

    // Someone else's: refused, and left exactly as it was.
    iam.intrude_next_create(vec![("owner".to_owned(), "someone-else".to_owned())]);
    let theirs = respond(&resource, stack.create("Theirs", properties)).await;
    let reason = failed_reason(&theirs);
    assert!(
        reason.contains("invalid property Name") && reason.contains("did not create"),
        "{reason}"
    );
    let name = default_name(&stack.name, "Theirs");
    let foreign = named(&moto, &name).await;
    assert_eq!(foreign.len(), 1);
    assert_eq!(
        iam.tags(&foreign[0]).unwrap(),
        [("owner".to_owned(), "someone-else".to_owned())]
    );
    assert_eq!(iam.count("DeleteSAMLProvider"), 0, "{:?}", iam.calls());
    assert_eq!(iam.count("UpdateSAMLProvider"), 0, "{:?}", iam.calls());
    assert_eq!(iam.count("TagSAMLProvider"), 0, "{:?}", iam.calls());
}

#[tokio::test]
async fn tags_are_read_across_every_page() {
    let iam = iam_proxy().await;
    let resource = provider_via(&iam, MetadataDownload::default());
    let stack = Stack::new("pages");
    let tags: Vec<_> = (1..=5)
        .map(|n| json!({"Key": format!("k{n}"), "Value": format!("v{n}")}))
        .collect();
    let properties = json!({
        "MetadataDocument": metadata_until(days_from_now(200)),
        "Tags": tags,
    });
    let arn = succeeded(&respond(&resource, stack.create("Provider", properties.clone())).await);

    // Seven tags, two a page: the last ones are only on later pages.
    iam.page_size(2);
    iam.clear_calls();
    let update = stack.update("Provider", &arn, properties.clone(), properties);
    assert_eq!(succeeded(&respond(&resource, update).await), arn);
    assert_eq!(
        iam.count("ListSAMLProviderTags"),
        4,
        "every page read: {:?}",
        iam.calls()
    );
    assert_eq!(
        iam.count("TagSAMLProvider"),
        0,
        "tags already there were seen: {:?}",
        iam.calls()
    );
    assert_eq!(iam.tags(&arn).unwrap().len(), 7);
}
