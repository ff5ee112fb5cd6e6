//! The IAM SAML provider: its metadata matches the application's, its certificate is valid.

use super::*;

pub(super) async fn provider_document(
    clients: &Clients,
    arn: &str,
) -> Result<Option<String>, String> {
    // The SAML-provider function's own read: the same call, the same "gone" rule.
    saml_provider::Iam::new(clients.iam.clone())
        .document(arn)
        .await
        .map_err(|error| format!("{error:#}"))
}

pub(super) async fn provider_metadata(clients: &Clients, found: &mut Found) -> Check {
    let name = CheckName::ProviderMetadata;
    let Some(provider) = found.provider_arn.clone() else {
        return Check::blocked(name, "no SAML provider is known");
    };
    let document = match provider_document(clients, &provider).await {
        Ok(Some(document)) => document,
        Ok(None) => {
            return Check::fail(
                name,
                format!("the SAML provider {provider} does not exist"),
                "create it from the application's metadata (deploy the stack), or fix the Role attribute",
            );
        }
        Err(error) => {
            return Check::fail(
                name,
                format!("could not read the SAML provider {provider}: {error}"),
                "use credentials that may call iam:GetSAMLProvider",
            );
        }
    };
    found.provider_document = Some(document.clone());
    let Some(app) = &found.application else {
        return Check::blocked(name, "the application could not be read");
    };
    let Some(url) = app.metadata_url() else {
        return Check::fail(
            name,
            "the application reports no metadata URL",
            "check the application in the IAM Identity Center console",
        );
    };
    let fix = format!(
        "update the provider with the application's current metadata: update the stack (the SamlProvider resource downloads it again), or `aws iam update-saml-provider --saml-provider-arn {provider} --saml-metadata-document file://metadata.xml` with the document from {url}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let current = match clients.metadata.fetch(url, deadline).await {
        Ok(current) => current,
        Err(error) => {
            return Check::fail(
                name,
                format!("could not download the application's metadata: {error:#}"),
                format!("check that {url} is reachable from here"),
            );
        }
    };
    if current.trim() == document.trim() {
        return Check::pass(
            name,
            format!("{provider} holds the application's current metadata"),
        );
    }
    compare_signers(&provider, url, &document, &current, fix)
}

/// The provider's and the application's metadata differ: whether the issuer and signing
/// certificate still agree (then only the form differs).
fn compare_signers(provider: &str, url: &str, document: &str, current: &str, fix: String) -> Check {
    let name = CheckName::ProviderMetadata;
    match (Signer::of(document), Signer::of(current)) {
        (Ok(iam), Ok(app)) if iam == app => Check::pass(
            name,
            format!(
                "{provider} has the application's issuer and signing certificate (the documents differ only in form)"
            ),
        ),
        (Ok(iam), Ok(app)) if iam.entity_id != app.entity_id => Check::fail(
            name,
            format!(
                "{provider} trusts the issuer {}, but the application signs as {}: it was made from another application's metadata",
                iam.entity_id, app.entity_id
            ),
            fix,
        ),
        (Ok(_), Ok(_)) => Check::fail(
            name,
            format!(
                "{provider} does not have the application's current signing certificate (was it rotated?): IAM would reject every assertion"
            ),
            fix,
        ),
        (Err(problem), _) => {
            Check::fail(name, format!("the metadata in {provider} {problem}"), fix)
        }
        (_, Err(problem)) => Check::fail(
            name,
            format!("the application's metadata at {url} {problem}"),
            "check the application in the IAM Identity Center console",
        ),
    }
}

pub(super) fn certificate(found: &Found) -> Check {
    let name = CheckName::Certificate;
    let (Some(provider), Some(document)) = (&found.provider_arn, &found.provider_document) else {
        return Check::blocked(name, "the SAML provider's metadata could not be read");
    };
    let now = OffsetDateTime::now_utc();
    match saml_provider::metadata::validate(document.clone(), now) {
        Ok(metadata) => {
            let days = (metadata.certificate_expiry - now).whole_days();
            let soon = if days < RENEW_SOON_DAYS {
                ": renew it soon (Identity Center → the application → certificate), then update the provider"
            } else {
                ""
            };
            Check::pass(
                name,
                format!(
                    "the signing certificate of {provider} is valid until {} ({days} days left){soon}",
                    metadata.certificate_expiry_rfc3339()
                ),
            )
        }
        Err(problem) => Check::fail(
            name,
            format!("the metadata of {provider} {problem}"),
            "give the application a new certificate in IAM Identity Center (or use its current one), then update the SAML provider with the application's metadata (update the stack)",
        ),
    }
}
