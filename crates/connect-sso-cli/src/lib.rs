//! `connect-sso`: guide step 6 ("test the sign-in") as a command. `doctor` checks every link of
//! the chain a Connect sign-in through IAM Identity Center needs and names the fix of each
//! broken one; `plan` shows what the user import would change, without writing; `preflight`
//! checks, before the first deployment, what would make it fail; `status` shows the user
//! import's progress.
//!
//! In-process use (the local deploy): build [`Clients`] for the emulators and call
//! [`doctor::run`] with a [`Target`] (e.g. [`Target::from_stack`] on the stack's outputs).

pub mod cli;
pub mod clients;
pub mod doctor;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod stack;
pub mod status;
pub mod target;

pub use clients::{Clients, Endpoints};
pub use report::{Check, CheckName, Report};
pub use target::Target;
