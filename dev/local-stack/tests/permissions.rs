//! permissions.yaml against what is granted: template.yaml's function policies and the
//! cross-account role of docs/cross-account.md must grant exactly what the table's rows need.
//! (The other direction, the calls the functions really make, is checked by the lifecycle run:
//! tests/lifecycle.rs.) Each check is also shown failing on a broken copy.

use local_stack::permissions::{
    Call, Table, check_calls, check_cross_account_role, check_template, repository_root,
};
use local_stack::template::Template;

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository_root().join(relative)).unwrap()
}

fn template_text() -> String {
    read("template.yaml")
}

fn table() -> Table {
    Table::load().unwrap()
}

fn template_problems(text: &str) -> Vec<String> {
    check_template(&table(), &Template::parse(text).unwrap()).unwrap()
}

/// `text` with `from` replaced once; the fixture must really change something.
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the fixture's anchor {from:?} is gone");
    text.replacen(from, to, 1)
}

#[test]
fn template_grants_exactly_what_the_table_needs() {
    let problems = template_problems(&template_text());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn cross_account_role_grants_exactly_what_the_table_needs() {
    let problems = check_cross_account_role(&table(), &read("docs/cross-account.md")).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_template_missing_a_grant_fails() {
    let broken = edited(&template_text(), "                - sso:GetProfile\n", "");
    let problems = template_problems(&broken);
    assert_eq!(
        problems,
        [
            "template.yaml IdentityCenterAppFunction (identity-center-app) lacks sso:GetProfile, which permissions.yaml says a call needs"
        ]
    );
}

#[test]
fn a_template_with_a_grant_no_row_needs_fails() {
    let broken = edited(
        &template_text(),
        "                - identitystore:ListUsers\n",
        "                - identitystore:ListUsers\n                - identitystore:GetUserId\n",
    );
    let problems = template_problems(&broken);
    assert_eq!(
        problems,
        [
            "template.yaml ConnectUserImportFunction (connect-user-import) grants identitystore:GetUserId, which no row of permissions.yaml needs"
        ]
    );
}

#[test]
fn a_kms_decrypt_without_via_service_fails() {
    let text = template_text();
    // The attribute mapping's kms statement, its condition removed.
    let start = text
        .find("                  kms:ViaService: !Sub\n                    - sso.")
        .unwrap();
    let condition_start = text[..start].rfind("              Condition:").unwrap();
    let end = start + text[start..].find("            - Sid: StackState").unwrap();
    let broken = format!("{}{}", &text[..condition_start], &text[end..]);
    let problems = template_problems(&broken);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("template.yaml AttributeMappingFunction (attribute-mapping): kms:Decrypt is granted without a StringEquals or StringLike kms:ViaService condition"),
        "{problems:#?}"
    );
}

#[test]
fn a_cross_account_role_missing_or_adding_a_grant_fails() {
    let document = read("docs/cross-account.md");
    let missing = edited(&document, "                  - sso:ListApplications\n", "");
    assert_eq!(
        check_cross_account_role(&table(), &missing).unwrap(),
        [
            "docs/cross-account.md IdentityCenterRole lacks sso:ListApplications, which permissions.yaml says a call needs"
        ]
    );
    let extra = edited(
        &document,
        "                  - sso:ListApplications\n",
        "                  - sso:ListApplications\n                  - sso:PutApplicationAssignmentConfiguration\n",
    );
    assert_eq!(
        check_cross_account_role(&table(), &extra).unwrap(),
        [
            "docs/cross-account.md IdentityCenterRole grants sso:PutApplicationAssignmentConfiguration, which no row of permissions.yaml needs"
        ]
    );
}

#[test]
fn a_recorded_call_with_no_row_fails() {
    let table = table();
    let listed = Call {
        function: "connect-user-import".into(),
        call: "connect:SearchUsers".into(),
    };
    assert!(check_calls(&table, [&listed]).is_empty());
    // A call the table lists for another function only, and one it lists nowhere.
    let unlisted = Call {
        function: "connect-user-import".into(),
        call: "sso-admin:CreateApplicationAssignment".into(),
    };
    let unknown = Call {
        function: "attribute-mapping".into(),
        call: "sso-console:UpdateApplicationInstanceSecurityConfiguration".into(),
    };
    assert_eq!(
        check_calls(&table, [&listed, &unlisted, &unknown]),
        [
            "attribute-mapping called sso-console:UpdateApplicationInstanceSecurityConfiguration, which permissions.yaml does not list for it",
            "connect-user-import called sso-admin:CreateApplicationAssignment, which permissions.yaml does not list for it",
        ]
    );
}
