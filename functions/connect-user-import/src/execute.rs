//! Carrying out a plan: each action's Connect calls, several users at a time, each call waiting
//! for its operation's rate-limit slot; no call starts when the deadline is too close, and what
//! was not done is returned so that a later run (or invocation) can finish it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder as _, ExponentialBuilder, Retryable};
use futures::StreamExt;
use https_client::retry;

use crate::connect::{CallError, CallResult, Connect};
use crate::plan::{Action, Change, Claimant, DesiredUser, EMAIL_DIGEST_TAG, Owner, differences};
use crate::progress::WriteKind;
use crate::report::{Problem, ProblemKind};

/// Back-off between attempts of a call that met the eventual-consistency ResourceNotFound of a
/// user created moments ago (Connect documents seconds, sometimes more): 0.5, 1, 2, 4, 8 s, none
/// ending past `deadline`.
fn visibility_backoff(deadline: Instant) -> impl backon::Backoff {
    let delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(5)
        .build();
    retry::until(delays, deadline, Duration::ZERO)
}

impl Applied {
    /// What the progress record counts: the write made, and the problem met; `None` for an
    /// action left for a later run.
    pub fn progress(&self, action: &Action) -> Option<(Option<WriteKind>, Option<Problem>)> {
        let write = match self {
            Self::Created => Some(WriteKind::Create),
            Self::Updated => Some(WriteKind::Update),
            Self::Deleted => Some(WriteKind::Delete),
            Self::NotDone(_) => return None,
            Self::Unchanged | Self::Skipped(_) | Self::Failed(_) => None,
        };
        Some((write, self.problem(action)))
    }

    /// The problem this outcome is for `action`'s user, if it is one.
    pub fn problem(&self, action: &Action) -> Option<Problem> {
        let kind = match self {
            Self::Skipped(reason) => ProblemKind::Skipped(reason.clone()),
            Self::Failed(kind) => kind.clone(),
            _ => return None,
        };
        Some(Problem::new(action.username(), kind))
    }
}

/// What became of one action.
#[derive(Debug)]
pub enum Applied {
    Created,
    Updated,
    Deleted,
    Unchanged,
    /// Not imported, with the reason (found out only while writing, e.g. a foreign user).
    Skipped(String),
    /// A write failed: which, and why.
    Failed(ProblemKind),
    /// Not (or not entirely) done before the deadline: the rest of the action.
    NotDone(Box<Action>),
}

pub struct Executor<'a> {
    pub connect: &'a Connect,
    pub instance_id: &'a str,
    pub owner: &'a Owner,
    pub adopt_existing: bool,
    pub deadline: Instant,
}

impl Executor<'_> {
    /// Applies the actions, `concurrency` users at a time, yielding each one's fate in order.
    pub fn run(
        &self,
        actions: Vec<Action>,
        concurrency: usize,
    ) -> impl futures::Stream<Item = (Action, Applied)> + '_ {
        futures::stream::iter(actions)
            .map(move |action| async move {
                let applied = self.apply(&action).await;
                (action, applied)
            })
            .buffered(concurrency.max(1))
    }

    async fn apply(&self, action: &Action) -> Applied {
        match action {
            Action::Create { user } => self.create(user).await,
            Action::Update {
                user_id,
                user_arn,
                user,
                changes,
            } => self.update(user_id, user_arn, user, changes).await,
            Action::Delete { user_id, username } => self.delete(user_id, username).await,
        }
    }

    async fn create(&self, user: &DesiredUser) -> Applied {
        let mut tags = self.ownership_tags();
        tags.insert(EMAIL_DIGEST_TAG.to_owned(), user.email_digest());
        match self
            .connect
            .create_user(self.instance_id, user, &tags, self.deadline)
            .await
        {
            Ok((id, _)) => {
                tracing::info!(username = %user.username, user_id = %id, "created");
                Applied::Created
            }
            Err(CallError::NotStarted) => {
                Applied::NotDone(Box::new(Action::Create { user: user.clone() }))
            }
            Err(error) if error.is_duplicate() => self.created_elsewhere(user).await,
            Err(error) if error.is_limit_exceeded() => Applied::Failed(ProblemKind::NotCreated(
                format!("{error} (the instance's user quota; raise it or import fewer users)"),
            )),
            Err(error) => Applied::Failed(ProblemKind::NotCreated(error.to_string())),
        }
    }

    /// CreateUser said the name is taken: a retried create whose first attempt landed (the
    /// user carries our tags), a user the bulk read missed (search lag), or a foreign one.
    async fn created_elsewhere(&self, user: &DesiredUser) -> Applied {
        let found = || async {
            match self
                .connect
                .find_user(self.instance_id, &user.username, self.deadline)
                .await
            {
                Ok(Some(existing)) => Ok(existing),
                Ok(None) => Err(None),
                Err(error) => Err(Some(error)),
            }
        };
        let existing = match found
            .retry(visibility_backoff(self.deadline))
            .when(Option::is_none)
            .await
        {
            Ok(existing) => existing,
            Err(None) => {
                return Applied::Failed(ProblemKind::NotCreated(
                    "CreateUser reports a user of this name, but none was found (a name differing only in case?)"
                        .to_owned(),
                ));
            }
            Err(Some(CallError::NotStarted)) => {
                return Applied::NotDone(Box::new(Action::Create { user: user.clone() }));
            }
            Err(Some(error)) => {
                return Applied::Failed(ProblemKind::NotCreated(format!(
                    "CreateUser reports a user of this name; looking it up failed: {error}"
                )));
            }
        };
        let owned = self.owner.owns(&existing.tags);
        if let Some(reason) =
            Claimant::Resource(self.owner).refuse_claim(&existing.tags, self.adopt_existing)
        {
            return Applied::Skipped(reason);
        }
        let mut changes = differences(&existing, user);
        if !owned {
            changes.insert(0, Change::Claim);
        }
        // Ours already (an earlier run's user the bulk read did not show yet): unchanged or
        // updated like any managed user.
        self.update(&existing.id, &existing.arn, user, &changes)
            .await
    }

    async fn update(
        &self,
        user_id: &str,
        user_arn: &str,
        user: &DesiredUser,
        changes: &[Change],
    ) -> Applied {
        if changes.is_empty() {
            return Applied::Unchanged;
        }
        let mut index = 0;
        while index < changes.len() {
            let change = changes[index];
            // Names and SecondaryEmail are one UpdateUserIdentityInfo call.
            let step = if change == Change::Names
                && changes.get(index + 1) == Some(&Change::SecondaryEmail)
            {
                2
            } else {
                1
            };
            let result = self
                .change(user_id, user_arn, user, &changes[index..index + step])
                .await;
            match result {
                Ok(()) => index += step,
                Err(CallError::NotStarted) => {
                    return Applied::NotDone(Box::new(Action::Update {
                        user_id: user_id.to_owned(),
                        user_arn: user_arn.to_owned(),
                        user: user.clone(),
                        changes: changes[index..].to_vec(),
                    }));
                }
                Err(error) if error.is_not_found() => {
                    return Applied::Failed(ProblemKind::NotUpdated(
                        "the user no longer exists".to_owned(),
                    ));
                }
                Err(error) => {
                    return Applied::Failed(ProblemKind::NotUpdated(format!(
                        "{change:?}: {error}"
                    )));
                }
            }
        }
        tracing::info!(username = %user.username, ?changes, "updated");
        Applied::Updated
    }

    async fn change(
        &self,
        user_id: &str,
        user_arn: &str,
        user: &DesiredUser,
        changes: &[Change],
    ) -> CallResult<()> {
        let (connect, instance, deadline) = (self.connect, self.instance_id, self.deadline);
        match changes {
            [Change::Claim, ..] => {
                let tags = self.ownership_tags();
                self.visible(|| connect.tag_user(user_arn, &tags, deadline))
                    .await
            }
            [Change::Names, rest @ ..] | [Change::SecondaryEmail, rest @ ..] => {
                self.visible(|| connect.update_identity_info(instance, user_id, user, deadline))
                    .await?;
                let email_changed =
                    changes[0] == Change::SecondaryEmail || rest.contains(&Change::SecondaryEmail);
                if email_changed {
                    // Recorded after the write, so a failed write is found again next time.
                    let digest =
                        BTreeMap::from([(EMAIL_DIGEST_TAG.to_owned(), user.email_digest())]);
                    self.visible(|| connect.tag_user(user_arn, &digest, deadline))
                        .await?;
                }
                Ok(())
            }
            [Change::SecurityProfiles, ..] => {
                self.visible(|| connect.update_security_profiles(instance, user_id, user, deadline))
                    .await
            }
            [Change::RoutingProfile, ..] => {
                self.visible(|| connect.update_routing_profile(instance, user_id, user, deadline))
                    .await
            }
            [Change::Phone, ..] => {
                self.visible(|| connect.update_phone_config(instance, user_id, user, deadline))
                    .await
            }
            [] => Ok(()),
        }
    }

    async fn delete(&self, user_id: &str, username: &str) -> Applied {
        match self
            .visible(|| {
                self.connect
                    .delete_user(self.instance_id, user_id, self.deadline)
            })
            .await
        {
            Ok(()) => {
                tracing::info!(%username, %user_id, "deleted");
                Applied::Deleted
            }
            // Gone already (a retried request, or someone else): the goal is met.
            Err(error) if error.is_not_found() => Applied::Deleted,
            Err(CallError::NotStarted) => Applied::NotDone(Box::new(Action::Delete {
                user_id: user_id.to_owned(),
                username: username.to_owned(),
            })),
            Err(error) => Applied::Failed(ProblemKind::NotDeleted(error.to_string())),
        }
    }

    /// The tags every user this resource creates or claims carries.
    fn ownership_tags(&self) -> BTreeMap<String, String> {
        self.owner
            .ownership_tags()
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// Runs a call on a user, retrying the ResourceNotFound that a user created moments ago
    /// can still produce, for as long as the deadline allows.
    async fn visible<F, Fut>(&self, call: F) -> CallResult<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = CallResult<()>>,
    {
        call.retry(visibility_backoff(self.deadline))
            .when(CallError::is_not_found)
            .notify(|_, delay| tracing::debug!(?delay, "user not visible yet; retrying"))
            .await
    }
}
