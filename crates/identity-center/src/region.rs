//! Region names given as properties.

/// Checks that `value` of `property` looks like an AWS region name (`eu-west-1`, `us-gov-west-1`),
/// so a typo fails with a reason naming the property instead of an unreachable endpoint.
pub fn check_region(property: &str, value: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_region(value),
        "invalid property {property}: '{value}' is not an AWS region name (such as us-east-1)"
    );
    Ok(())
}

fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        assert!(is_region("eu-west-1") && is_region("us-gov-west-1"));
        assert!(!is_region("Frankfurt") && !is_region("eu-west") && !is_region("EU-WEST-1"));
        let error = check_region("IdentityCenterRegion", "Frankfurt")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("IdentityCenterRegion") && error.contains("'Frankfurt'"),
            "{error}"
        );
    }
}
