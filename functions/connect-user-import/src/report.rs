//! What a reconciliation did: the counts CloudFormation's `Fn::GetAtt` reads, and each user not
//! imported as wanted with the reason, kept as values until they are shown.

use std::collections::BTreeMap;
use std::fmt;

use crate::plan::{Action, Plan};

/// How many problems the response lists (all of them are logged).
pub(crate) const PROBLEMS_SHOWN: usize = 5;
/// Room for the Problems and Plan texts within CloudFormation's 4096-byte response.
pub(crate) const PROBLEMS_BYTES: usize = 1200;
const PLAN_BYTES: usize = 1500;

/// A user not imported as wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub username: String,
    pub kind: ProblemKind,
}

/// Why a user was not imported as wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Left alone by a rule of the import (no email, an invalid name, a name differing only in
    /// case, another owner…): the reason.
    Skipped(String),
    /// CreateUser, or finding the user it says exists, failed: why.
    NotCreated(String),
    /// An update call failed: which, and why.
    NotUpdated(String),
    /// DeleteUser failed (not for want of time): why. A Delete of the resource that leaves any
    /// answers FAILED naming them.
    NotDeleted(String),
}

impl Problem {
    pub fn new(username: impl Into<String>, kind: ProblemKind) -> Self {
        Self {
            username: username.into(),
            kind,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, why) = match &self.kind {
            ProblemKind::Skipped(reason) => ("", reason),
            ProblemKind::NotCreated(why) => ("not created: ", why),
            ProblemKind::NotUpdated(why) => ("not updated: ", why),
            ProblemKind::NotDeleted(why) => ("not deleted: ", why),
        };
        write!(f, "{}: {what}{why}", self.username)
    }
}

/// What a reconciliation did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub retained: usize,
    /// Skipped users and failed writes.
    pub problems: Vec<Problem>,
    /// In a dry run, the planned writes.
    pub planned: Vec<String>,
    /// Writes not made because the deadline came: run again (or execute these) to finish.
    pub not_done: Vec<Action>,
    /// Why the writes stopped before the end, when a check between batches stopped them.
    pub stopped: Option<String>,
}

impl Report {
    pub fn is_complete(&self) -> bool {
        self.not_done.is_empty()
    }

    /// The users whose DeleteUser failed, each once (a delete may fail in several rounds).
    pub fn not_deleted(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .problems
            .iter()
            .filter(|problem| matches!(problem.kind, ProblemKind::NotDeleted(_)))
            .map(|problem| problem.username.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The output values, `!GetAtt`-readable.
    pub fn data(&self) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([
            ("Created".to_owned(), self.created.to_string()),
            ("Updated".to_owned(), self.updated.to_string()),
            ("Deleted".to_owned(), self.deleted.to_string()),
            ("Unchanged".to_owned(), self.unchanged.to_string()),
            ("Skipped".to_owned(), self.skipped.to_string()),
            ("Retained".to_owned(), self.retained.to_string()),
            ("DryRun".to_owned(), self.dry_run.to_string()),
            ("Problems".to_owned(), self.problems_text()),
            ("ImportComplete".to_owned(), self.is_complete().to_string()),
            ("UsersRemaining".to_owned(), self.not_done.len().to_string()),
        ]);
        if self.dry_run {
            data.insert(
                "Plan".to_owned(),
                bounded_list(&self.planned, usize::MAX, PLAN_BYTES, "none"),
            );
        }
        data
    }

    /// The first few problems, short enough for the response.
    pub fn problems_text(&self) -> String {
        bounded_list(&self.problems, PROBLEMS_SHOWN, PROBLEMS_BYTES, "none")
    }

    /// One line for logs and FAILED reasons.
    pub fn summary(&self) -> String {
        format!(
            "created {}, updated {}, deleted {}, unchanged {}, skipped {}, retained {}",
            self.created, self.updated, self.deleted, self.unchanged, self.skipped, self.retained
        )
    }

    pub(crate) fn from_plan(plan: &Plan, dry_run: bool) -> Self {
        Self {
            dry_run,
            unchanged: plan.unchanged.len(),
            skipped: plan.skipped.len(),
            retained: plan.retained.len(),
            problems: plan
                .skipped
                .iter()
                .map(|skipped| {
                    Problem::new(&skipped.name, ProblemKind::Skipped(skipped.reason.clone()))
                })
                .collect(),
            ..Self::default()
        }
    }
}

/// `items` joined with "; ", at most `count` of them and `max_bytes` long, saying how many more.
pub(crate) fn bounded_list(
    items: &[impl fmt::Display],
    count: usize,
    max_bytes: usize,
    empty: &str,
) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let mut text = String::new();
    let mut shown = 0;
    for item in items.iter().take(count) {
        let item = item.to_string();
        let separator = if text.is_empty() { "" } else { "; " };
        if text.len() + separator.len() + item.len() > max_bytes {
            if text.is_empty() {
                let mut cut = max_bytes.min(item.len());
                while !item.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.push_str(&item[..cut]);
                shown = 1;
            }
            break;
        }
        text.push_str(separator);
        text.push_str(&item);
        shown += 1;
    }
    if shown < items.len() {
        text.push_str(&format!(
            " (+{} more, see the function's logs)",
            items.len() - shown
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_cut_to_a_few_and_say_how_many_more() {
        let problems: Vec<String> = (0..9)
            .map(|i| format!("user{i}@example.com: reason {i}"))
            .collect();
        let text = bounded_list(&problems, 5, 1200, "none");
        assert!(
            text.starts_with("user0@example.com: reason 0; user1"),
            "{text}"
        );
        assert!(
            text.contains("user4@example.com") && !text.contains("user5@example.com"),
            "{text}"
        );
        assert!(
            text.ends_with("(+4 more, see the function's logs)"),
            "{text}"
        );
        assert_eq!(bounded_list(&[] as &[String], 5, 100, "none"), "none");
        let long = vec!["é".repeat(1000), "b".into()];
        let text = bounded_list(&long, 5, 101, "none");
        assert!(
            text.starts_with(&"é".repeat(50))
                && text.ends_with("(+1 more, see the function's logs)"),
            "{text}"
        );
    }

    #[test]
    fn the_data_always_fits_the_response() {
        let report = Report {
            dry_run: true,
            problems: (0..500)
                .map(|i| {
                    let user = format!("{}{i}@example.com", "u".repeat(60));
                    Problem::new(user, ProblemKind::NotCreated("r".repeat(300)))
                })
                .collect(),
            planned: (0..500)
                .map(|i| format!("create {}{i}@example.com", "u".repeat(60)))
                .collect(),
            ..Report::default()
        };
        let data = report.data();
        let size: usize = data.iter().map(|(k, v)| k.len() + v.len() + 8).sum();
        assert!(size < 3000, "{size}");
        assert_eq!(data["Created"], "0");
        assert_eq!(data["DryRun"], "true");
    }

    #[test]
    fn a_problem_names_the_user_and_what_was_not_done() {
        let problems = [
            Problem::new(
                "a@example.com",
                ProblemKind::Skipped("has no primary email".into()),
            ),
            Problem::new(
                "b@example.com",
                ProblemKind::NotCreated("LimitExceeded".into()),
            ),
            Problem::new(
                "c@example.com",
                ProblemKind::NotUpdated("Phone: Throttled".into()),
            ),
            Problem::new(
                "d@example.com",
                ProblemKind::NotDeleted("AccessDenied".into()),
            ),
        ];
        let text: Vec<String> = problems.iter().map(Problem::to_string).collect();
        assert_eq!(
            text,
            [
                "a@example.com: has no primary email",
                "b@example.com: not created: LimitExceeded",
                "c@example.com: not updated: Phone: Throttled",
                "d@example.com: not deleted: AccessDenied",
            ]
        );
    }

    #[test]
    fn the_users_not_deleted_are_named_once_each() {
        let not_deleted =
            |user: &str| Problem::new(user, ProblemKind::NotDeleted("refused".into()));
        let report = Report {
            problems: vec![
                not_deleted("b@example.com"),
                Problem::new("c@example.com", ProblemKind::NotUpdated("x".into())),
                not_deleted("a@example.com"),
                // Failed again in a later round of the same Delete.
                not_deleted("b@example.com"),
            ],
            ..Report::default()
        };
        assert_eq!(report.not_deleted(), ["a@example.com", "b@example.com"]);
    }
}
