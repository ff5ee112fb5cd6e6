//! Field names that no AWS source confirms (LOW confidence in
//! docs/identity-center-console-api.md §3.3 and §3.4).
//!
//! They come only from the Huawei Cloud port of the same API (`relay_state`, `start_url`), turned
//! into the camelCase the AWS console API uses everywhere else. Capture the console's traffic once
//! (edit the application → Application properties, watch `X-Amz-Target`) and, if AWS spells them
//! differently, change the two `rename` attributes below: nothing else in the project names them.

use serde::{Deserialize, Serialize};

/// The unconfirmed part of `responseConfig`: the relay state ("Relay state" in the console).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnconfirmedResponseFields {
    /// UNCONFIRMED name: `responseConfig.relayState`.
    #[serde(
        rename = "relayState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub relay_state: Option<String>,
}

/// The unconfirmed part of `serviceProviderConfig`: the application start URL. Amazon Connect
/// wants it blank (no SP-initiated sign-in), so it is only ever read, never set, by this project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnconfirmedServiceProviderFields {
    /// UNCONFIRMED name: `serviceProviderConfig.startUrl`.
    #[serde(rename = "startUrl", default, skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
}
