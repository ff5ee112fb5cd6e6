//! A local CloudFormation for this project's template: `make local` deploys template.yaml on this
//! machine, against moto and the project's emulators, with the real function binaries.

pub mod cloud;
pub mod demo;
pub mod permissions;
pub mod recorder;
pub mod stack;
pub mod template;
