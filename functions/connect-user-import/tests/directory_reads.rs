//! How many identity-store calls reading the imported groups' members costs, for the directory
//! shapes of issue 17: the reads must grow with the groups, not with the directory. A counting
//! stand-in plays the identity store (moto would take long to seed 100,000 users, and counts no
//! calls); it answers ListGroupMemberships, ListUsers and DescribeUser as the API model
//! describes them (100 items a page), and counts every request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use connect_user_import::directory::{Directory, DirectoryReads};
use serde_json::{Value, json};

const STORE: &str = "d-1234567890";
const GROUP: &str = "group-agents";
const PAGE: usize = 100;

/// A directory of `users` people, `members` of them in one group, at the given positions of
/// the ListUsers order.
struct Shape {
    users: usize,
    members: Vec<usize>,
}

impl Shape {
    /// Members spread evenly through the directory.
    fn spread(users: usize, members: usize) -> Self {
        Self {
            users,
            members: (0..members).map(|i| i * users / members).collect(),
        }
    }

    /// Members listed last.
    fn last(users: usize, members: usize) -> Self {
        Self {
            users,
            members: (users - members..users).collect(),
        }
    }
}

fn user_id(index: usize) -> String {
    format!("90000000-0000-0000-0000-{index:012}")
}

fn user(index: usize) -> Value {
    json!({
        "IdentityStoreId": STORE,
        "UserId": user_id(index),
        "UserName": format!("agent{index}"),
        "DisplayName": format!("Agent {index}"),
        "Name": {"GivenName": "Agent", "FamilyName": format!("No{index}")},
        "Emails": [{"Value": format!("agent{index}@example.com"), "Primary": true}],
    })
}

/// A page of `total` items from the request's NextToken (an offset), and the next token.
fn page(body: &Value, total: usize) -> (std::ops::Range<usize>, Option<String>) {
    let start: usize = body["NextToken"]
        .as_str()
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    let size = body["MaxResults"]
        .as_u64()
        .map_or(PAGE, |n| n as usize)
        .min(PAGE);
    let end = (start + size).min(total);
    (start..end, (end < total).then(|| end.to_string()))
}

async fn serve(shape: Shape) -> (String, Arc<Mutex<BTreeMap<String, u64>>>) {
    let calls: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let counted = Arc::clone(&calls);
    let shape = Arc::new(shape);
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
        let counted = Arc::clone(&counted);
        let shape = Arc::clone(&shape);
        async move {
            let operation = headers
                .get("x-amz-target")
                .and_then(|target| target.to_str().ok())
                .and_then(|target| target.split('.').nth(1))
                .unwrap_or_default()
                .to_owned();
            *counted.lock().unwrap().entry(operation.clone()).or_default() += 1;
            let body: Value = serde_json::from_str(&body).unwrap_or_default();
            let answer = match operation.as_str() {
                "ListGroupMemberships" => {
                    let (range, next) = page(&body, shape.members.len());
                    let memberships: Vec<Value> = shape.members[range]
                        .iter()
                        .map(|index| {
                            json!({
                                "IdentityStoreId": STORE,
                                "MembershipId": format!("m-{index}"),
                                "GroupId": GROUP,
                                "MemberId": {"UserId": user_id(*index)},
                            })
                        })
                        .collect();
                    json!({"GroupMemberships": memberships, "NextToken": next})
                }
                "ListUsers" => {
                    let (range, next) = page(&body, shape.users);
                    let users: Vec<Value> = range.map(user).collect();
                    json!({"Users": users, "NextToken": next})
                }
                "DescribeUser" => {
                    let index = body["UserId"]
                        .as_str()
                        .and_then(|id| id.rsplit('-').next()?.parse::<usize>().ok())
                        .unwrap_or(usize::MAX);
                    if index >= shape.users {
                        let error = json!({"__type": "ResourceNotFoundException", "Message": "no such user"});
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            [("content-type", "application/x-amz-json-1.1")],
                            error.to_string(),
                        )
                            .into_response();
                    }
                    user(index)
                }
                other => panic!("the import called identitystore {other}"),
            };
            (
                [("content-type", "application/x-amz-json-1.1")],
                answer.to_string(),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (endpoint, calls)
}

/// Reads the group's members from a directory of `shape`; the calls the stand-in counted, and
/// the ones the import says it made.
async fn read(shape: Shape) -> (BTreeMap<String, u64>, DirectoryReads) {
    let expected: BTreeSet<String> = shape.members.iter().map(|i| user_id(*i)).collect();
    let (endpoint, calls) = serve(shape).await;
    let sdk = https_client::sdk::loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    let directory = Directory {
        client: connect_user_import::identity_store_client(&sdk, None),
        identity_store_id: STORE.to_owned(),
    };
    let group = BTreeSet::from([GROUP.to_owned()]);
    let (members, reads) = directory
        .members(&group, &group, Instant::now() + Duration::from_secs(120))
        .await
        .unwrap();
    let found: BTreeSet<String> = members.iter().map(|user| user.id.clone()).collect();
    assert_eq!(found, expected, "not exactly the group's members");
    assert!(
        members
            .iter()
            .all(|user| user.user_name.starts_with("agent") && user.given_name.is_some()),
        "a member without the directory's data"
    );
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.values().sum::<u64>() as usize,
        reads.calls(),
        "the import's own count differs from the calls made: {calls:?} vs {reads:?}"
    );
    (calls, reads)
}

fn report(shape: &str, calls: &BTreeMap<String, u64>) {
    println!(
        "{shape}: {} identity-store calls ({calls:?})",
        calls.values().sum::<u64>()
    );
}

#[tokio::test]
async fn a_large_directory_with_few_agents_costs_calls_per_member_not_per_person() {
    // 100,000 people, 500 agents: listing everyone would be 1,000 ListUsers pages.
    let (calls, reads) = read(Shape::spread(100_000, 500)).await;
    report("100,000 users / 500 agents (spread)", &calls);
    assert_eq!(reads.membership_pages, 5);
    // About one call per member (5 membership pages, a 3-page sample, then DescribeUser).
    assert!(
        reads.calls() < 520,
        "{reads:?}: not within a small factor of the 500 members"
    );
    // The same members listed last: sampling finds none, so they are described; still about
    // one call per member.
    let (calls, reads) = read(Shape::last(100_000, 500)).await;
    report("100,000 users / 500 agents (listed last)", &calls);
    assert!(reads.calls() < 520, "{reads:?}");
}

#[tokio::test]
async fn a_directory_mostly_of_agents_is_listed_page_by_page() {
    // 5,000 people, 2,000 agents: 50 ListUsers pages beat 2,000 DescribeUser calls.
    let (calls, reads) = read(Shape::spread(5_000, 2_000)).await;
    report("5,000 users / 2,000 agents", &calls);
    assert_eq!(reads.membership_pages, 20);
    assert_eq!((reads.user_pages, reads.described), (50, 0), "{reads:?}");
    // Every member in the first pages: the listing stops once they are all found.
    let (_, reads) = read(Shape {
        users: 5_000,
        members: (0..300).collect(),
    })
    .await;
    assert_eq!((reads.user_pages, reads.described), (3, 0), "{reads:?}");
}

#[tokio::test]
async fn a_member_whose_user_is_gone_is_not_imported() {
    // A membership that outlived its user (index past the directory's end).
    let (_, reads) = read_with_ghost().await;
    assert_eq!(reads.described, 1, "{reads:?}");
}

async fn read_with_ghost() -> (BTreeMap<String, u64>, DirectoryReads) {
    let shape = Shape {
        users: 10_000,
        members: vec![10, 20, 10_000_000],
    };
    let (endpoint, calls) = serve(shape).await;
    let sdk = https_client::sdk::loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    let directory = Directory {
        client: connect_user_import::identity_store_client(&sdk, None),
        identity_store_id: STORE.to_owned(),
    };
    let group = BTreeSet::from([GROUP.to_owned()]);
    let (members, reads) = directory
        .members(&group, &group, Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        members
            .iter()
            .map(|user| user.id.clone())
            .collect::<Vec<_>>(),
        [user_id(10), user_id(20)]
    );
    let calls = calls.lock().unwrap().clone();
    (calls, reads)
}
