//! Custom::IdentityCenterSamlApp with Identity Center in another account: `IdentityCenterRoleArn`
//! is assumed through moto's STS, and every Identity Center call (console API and sso-admin on the
//! emulator, identity store on moto) carries the assumed role's credentials.

mod common;

use common::*;
use identity_center::access::session_name;
use serde_json::{Value, json};
use test_support::access_key_id;

fn role_arn() -> String {
    format!(
        "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter-{}",
        unique("t")
    )
}

fn stack_name(stack: &Stack) -> &str {
    stack.id.split('/').nth(1).unwrap()
}

#[tokio::test]
async fn create_update_delete_through_the_assumed_role() {
    let (emulator, function) = setup().await;
    let role = role_arn();
    // The group lives in the Identity Center account's identity store (moto: one per account).
    let store = identity_store_as(&emulator, &role).await;
    let tag = unique("t");
    let agents = store.group(&format!("Agents-{tag}")).await;
    let stack = Stack::new();
    let props = json!({
        "DisplayName": format!("Amazon Connect {tag}"),
        "AssignedGroups": [format!("Agents-{tag}")],
        "IdentityCenterRoleArn": role,
        "IdentityCenterExternalId": "connect-sso-external-id",
    });

    let answer = run(&function, stack.event("Create", "App", props.clone())).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let arn = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    let app = emulator.application(&arn).unwrap();
    assert_eq!(assignments(&app), [("GROUP".to_owned(), agents.clone())]);

    // STS: the role, a session name naming the stack and the resource, the external id.
    let session = session_name(stack_name(&stack), "App");
    assert_eq!(session, format!("{}.App", stack_name(&stack)));
    let assumed = assumed_roles(&session).await;
    assert_eq!(assumed.len(), 1, "assumed once for the whole request");
    assert_eq!(assumed[0]["role_arn"], role.as_str());
    assert_eq!(assumed[0]["external_id"], "connect-sso-external-id");
    let assumed_key = assumed[0]["access_key_id"].as_str().unwrap();
    // Every console and sso-admin call was signed with the assumed credentials.
    let requests = emulator.requests();
    assert!(requests.iter().any(|r| r.api == "console"));
    assert!(requests.iter().any(|r| r.api == "sso-admin"));
    for request in &requests {
        assert_eq!(
            access_key_id(&request.headers["authorization"]),
            assumed_key,
            "{}:{}",
            request.api,
            request.operation
        );
    }

    // Update in place, then delete, still as the role.
    emulator.clear_requests();
    let mut renamed = props.clone();
    renamed["DisplayName"] = json!(format!("Amazon Connect {tag} (renamed)"));
    let answer = run(
        &function,
        stack.update("App", &arn, renamed.clone(), props.clone()),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], arn.as_str());
    assert_eq!(
        emulator.application(&arn).unwrap()["displayName"],
        format!("Amazon Connect {tag} (renamed)")
    );
    let answer = run(&function, stack.delete("App", &arn, renamed)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(emulator.application(&arn), None);
    let assumed = assumed_roles(&session).await;
    assert_eq!(assumed.len(), 3, "one AssumeRole per request");
    let keys: Vec<&str> = assumed
        .iter()
        .map(|role| role["access_key_id"].as_str().unwrap())
        .collect();
    for request in emulator.requests() {
        let key = access_key_id(&request.headers["authorization"]);
        assert!(keys[1..].contains(&key), "{}: {key}", request.operation);
    }
}

#[tokio::test]
async fn without_the_role_the_function_acts_in_its_own_account() {
    let (emulator, function) = setup().await;
    let role = role_arn();
    let store = identity_store_as(&emulator, &role).await;
    let tag = unique("t");
    store.group(&format!("Agents-{tag}")).await;
    let stack = Stack::new();
    let props = json!({
        "DisplayName": format!("Amazon Connect {tag}"),
        "AssignedGroups": [format!("Agents-{tag}")],
        "IdentityCenterRoleArn": "",
        "IdentityCenterExternalId": "",
    });
    // The group is in the other account's identity store: not found from this one, and the
    // reason says where the function looked.
    let answer = run(&function, stack.event("Create", "App", props)).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "invalid property AssignedGroups: no group has the display name or id 'Agents-{tag}' in identity store {} (account 123456789012 as the function's own role, region us-east-1)",
            emulator.identity_store_id()
        )),
        "{reason}"
    );
    assert!(
        assumed_roles(&session_name(stack_name(&stack), "App"))
            .await
            .is_empty(),
        "no role assumed"
    );
    for request in emulator.requests() {
        assert_eq!(access_key_id(&request.headers["authorization"]), OWN_KEY);
    }
}

#[tokio::test]
async fn role_properties_are_checked_before_any_call() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let with = |role: Value, external_id: Value| {
        json!({
            "DisplayName": "Amazon Connect",
            "IdentityCenterRoleArn": role,
            "IdentityCenterExternalId": external_id,
        })
    };
    let cases = [
        (
            with(json!("ConnectSsoIdentityCenter"), json!("")),
            "invalid property IdentityCenterRoleArn: 'ConnectSsoIdentityCenter' is not an IAM role ARN",
        ),
        (
            with(json!(""), json!("connect-sso-external-id")),
            "invalid properties: IdentityCenterExternalId is only used to assume IdentityCenterRoleArn, which is not given",
        ),
        (
            with(json!(role_arn()), json!("x")),
            "invalid property IdentityCenterExternalId: it must be 2-1224 characters",
        ),
    ];
    for (props, expected) in cases {
        let answer = run(&function, stack.event("Create", "App", props.clone())).await;
        assert_eq!(answer["Status"], "FAILED", "{props}");
        let reason = answer["Reason"].as_str().unwrap();
        assert!(reason.starts_with(expected), "{reason}");
    }
    assert!(emulator.requests().is_empty());
    assert!(
        assumed_roles(&session_name(stack_name(&stack), "App"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_delete_of_an_id_it_did_not_make_assumes_nothing() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let props = json!({"DisplayName": "Amazon Connect", "IdentityCenterRoleArn": role_arn()});
    let answer = run(
        &function,
        stack.delete("App", "custom-resource:create-failed:App:1", props),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(emulator.requests().is_empty());
    assert!(
        assumed_roles(&session_name(stack_name(&stack), "App"))
            .await
            .is_empty()
    );
}
