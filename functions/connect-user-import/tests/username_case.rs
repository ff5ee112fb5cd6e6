//! Whether Connect treats usernames differing only in case as one is not documented (see
//! docs/assumptions.md, connect-username-case-insensitive). The import must do the same either
//! way: report the case-only clash and create nothing, so this runs against both emulations.
//! Run with `scripts/with-moto cargo test -p connect-user-import --test username_case`.

mod support;

use connect_emulator::{Options, UserSnapshot};
use serde_json::json;
use support::*;

// assumption: connect-username-case-insensitive
#[tokio::test]
async fn a_case_only_clash_is_reported_and_nothing_created_whichever_way_connect_compares() {
    for case_insensitive in [true, false] {
        let test = format!("case-{case_insensitive}");
        let w = World::with_options(
            &test,
            Options {
                usernames_case_insensitive: case_insensitive,
                ..Options::default()
            },
            "SAML",
        )
        .await;
        let foreign = w.emulator.add_user(
            &w.instance.id,
            UserSnapshot::new("Jane@Example.com").with_names("Jane", "Doe"),
        );
        let agents = w.group("Agents").await;
        let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
        let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
        w.join(&agents, &jane).await;
        w.join(&agents, &bob).await;
        let resource = w.resource();
        let response = w.send(&resource, w.create_event(&w.props(json!({})))).await;

        assert_eq!(
            counts(&response),
            [1, 0, 0, 0, 1],
            "case-insensitive Connect: {case_insensitive}: {response:#}"
        );
        let problems = problems(&response);
        assert!(
            problems.contains("jane@example.com") && problems.contains("case"),
            "case-insensitive Connect: {case_insensitive}: {problems}"
        );
        assert_eq!(w.user_named("Jane@Example.com"), foreign);
        assert_eq!(
            w.usernames(),
            ["Jane@Example.com", "bob@example.com"],
            "case-insensitive Connect: {case_insensitive}"
        );
        assert_eq!(
            w.calls("CreateUser"),
            1,
            "case-insensitive Connect: {case_insensitive}: only bob is created"
        );
    }
}
