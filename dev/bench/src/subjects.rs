//! The functions measured, and the cheap event each one answers: a Delete of a physical id it did
//! not make, which it must answer SUCCESS without calling AWS.

use serde_json::{Value, json};

/// A physical id no function makes (not an ARN, not an id of the user import's form).
pub const UNKNOWN_PHYSICAL_ID: &str = "bench-not-made-by-this-function";

pub struct Subject {
    /// Binary name (= package name for the functions).
    pub binary: &'static str,
    /// The package whose dependency tree ships in the binary.
    pub package: &'static str,
    pub resource_type: &'static str,
    pub logical_resource_id: &'static str,
    /// Properties as CloudFormation sends them on that Delete (the resource's current ones).
    pub properties: fn() -> Value,
    /// The baseline: only the custom-resource core, no AWS SDK.
    pub baseline: bool,
}

pub const SUBJECTS: [Subject; 5] = [
    Subject {
        binary: "identity-center-app",
        package: "identity-center-app",
        resource_type: "Custom::IdentityCenterSamlApp",
        logical_resource_id: "IdentityCenterApp",
        properties: || {
            with_service_keys(json!({
                "DisplayName": "Amazon Connect (bench)",
                "Description": "Amazon Connect sign-in, managed by stack bench",
            }))
        },
        baseline: false,
    },
    Subject {
        binary: "saml-provider",
        package: "saml-provider",
        resource_type: "Custom::SamlProviderFromMetadata",
        logical_resource_id: "SamlProvider",
        properties: || {
            with_service_keys(json!({
                "MetadataUrl": "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/MTIzNDU2Nzg5MDEyX2lucy0xMjM0NTY3ODkwYWJjZGVm",
                "Name": "connect-sso-bench",
            }))
        },
        baseline: false,
    },
    Subject {
        binary: "attribute-mapping",
        package: "attribute-mapping",
        resource_type: "Custom::IdentityCenterAttributeMapping",
        logical_resource_id: "AttributeMapping",
        properties: || {
            with_service_keys(json!({
                "ApplicationArn": "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef",
                "RelayState": "https://us-east-1.console.aws.amazon.com/connect/federate/4a1b2c3d-0000-4000-8000-000000000000",
                "RoleArn": "arn:aws:iam::123456789012:role/connect-sso-federation",
                "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/connect-sso-bench",
            }))
        },
        baseline: false,
    },
    Subject {
        binary: "connect-user-import",
        package: "connect-user-import",
        resource_type: "Custom::ConnectUserImport",
        logical_resource_id: "ConnectUserImport",
        properties: || {
            with_service_keys(json!({
                "InstanceId": "4a1b2c3d-0000-4000-8000-000000000000",
                "IdentityStoreId": "d-1234567890",
                "Groups": ["Agents"],
            }))
        },
        baseline: false,
    },
    Subject {
        binary: "probe-function",
        package: "custom-resource",
        resource_type: "Custom::Probe",
        logical_resource_id: "Probe",
        properties: || with_service_keys(json!({ "Behaviour": "succeed" })),
        baseline: true,
    },
];

/// The peer the functions are compared with: a Python custom resource written the common way,
/// crhelper with a boto3 client made at import, under the Lambda runtime interface client
/// (scripts/bench installs them and writes the `bootstrap` that starts it).
pub const PEER: Subject = Subject {
    binary: "crhelper-boto3",
    package: "",
    resource_type: "Custom::SamlProviderFromMetadata",
    logical_resource_id: "SamlProvider",
    properties: || {
        with_service_keys(json!({
            "MetadataUrl": "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/MTIzNDU2Nzg5MDEyX2lucy0xMjM0NTY3ODkwYWJjZGVm",
            "Name": "connect-sso-bench",
        }))
    },
    baseline: false,
};

/// CloudFormation adds these two to every resource's properties.
fn with_service_keys(mut properties: Value) -> Value {
    properties["ServiceToken"] = "arn:aws:lambda:us-east-1:123456789012:function:bench".into();
    properties["ServiceTimeout"] = "600".into();
    properties
}

pub fn label(subject: &Subject) -> String {
    if subject.binary == PEER.binary {
        "crhelper + boto3 (Python 3 peer)".to_owned()
    } else if subject.baseline {
        format!("{} (core only, baseline)", subject.binary)
    } else {
        subject.binary.to_owned()
    }
}
