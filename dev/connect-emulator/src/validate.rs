//! Field constraints from the API model and the CreateUser documentation.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

/// Characters allowed in a username (CloudFormation schema `[a-zA-Z0-9\_\-\.\@]+`, SAML doc text).
pub fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
}

/// `local@domain.tld`: one `@`, a non-empty local part, a dotted domain whose last label is
/// 2–63 letters ("user@example" is refused, as the CreateUser doc shows).
pub fn is_email_shaped(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.contains('@') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return false;
    }
    let tld = labels[labels.len() - 1];
    (2..=63).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
}

/// Username rules: 1–100 characters in the model; SAML instances 1–64 of `[a-zA-Z0-9_.@-]`,
/// other instances up to 20; an `@` only in an email-shaped name.
pub fn username(value: &str, saml: bool) -> ApiResult<()> {
    let max = if saml { 64 } else { 20 };
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(ApiError::invalid_parameter(format!(
            "Username must be 1 to {max} characters long for this instance (got {length})"
        )));
    }
    if let Some(bad) = value.chars().find(|c| !is_username_char(*c)) {
        return Err(ApiError::invalid_parameter(format!(
            "Username contains the character {bad:?}; allowed: [a-zA-Z0-9_-.@]"
        )));
    }
    if value.contains('@') && !is_email_shaped(value) {
        return Err(ApiError::invalid_parameter(
            "Username may contain @ only in an email format (user@example.com)",
        ));
    }
    Ok(())
}

/// E.164: `+` then 2–15 digits, no leading zero.
pub fn is_e164(value: &str) -> bool {
    let Some(digits) = value.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Password: 8–64 characters with a lowercase letter, an uppercase letter and a digit.
pub fn password(value: &str) -> ApiResult<()> {
    let length = value.chars().count();
    let ok = (8..=64).contains(&length)
        && value.chars().any(|c| c.is_lowercase())
        && value.chars().any(|c| c.is_uppercase())
        && value.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "Password must be 8-64 characters with at least one lowercase letter, one uppercase letter and one digit",
        ))
    }
}

/// Connect accepts names in Unicode NFC only; decomposed text carries combining marks.
pub fn has_combining_marks(value: &str) -> bool {
    value.chars().any(|c| {
        matches!(c as u32,
            0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
    })
}

/// Tag key/value rules: keys 1–128 characters of letters, spaces, digits and `_ . : / = + - @`,
/// not starting with `aws:`; values at most 256 characters (no pattern in the model).
pub fn tag_key(key: &str) -> ApiResult<()> {
    let length = key.chars().count();
    if length == 0 || length > 128 {
        return Err(ApiError::invalid_parameter(format!(
            "Tag key {key:?} must be 1 to 128 characters long"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(ApiError::invalid_parameter(format!(
            "Tag key {key:?} must not start with aws:"
        )));
    }
    if let Some(bad) = key.chars().find(|c| !is_tag_char(*c)) {
        return Err(ApiError::invalid_parameter(format!(
            "Tag key {key:?} contains the character {bad:?}"
        )));
    }
    Ok(())
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric()
        || c.is_whitespace()
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

pub fn tags(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    if tags.is_empty() || tags.len() > 50 {
        return Err(ApiError::invalid_parameter(format!(
            "Tags must have 1 to 50 entries (got {})",
            tags.len()
        )));
    }
    for (key, value) in tags {
        tag_key(key)?;
        if value.chars().count() > 256 {
            return Err(ApiError::invalid_parameter(format!(
                "The value of tag {key:?} is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_documented_examples() {
        assert!(username("testuser", true).is_ok());
        assert!(username("testuser@example.com", true).is_ok());
        assert!(username("testuser@example", true).is_err());
        assert!(username("a@b@example.com", true).is_err());
        assert!(username("has space", true).is_err());
        assert!(username("plus+sign", true).is_err());
        assert!(username(&"a".repeat(64), true).is_ok());
        assert!(username(&"a".repeat(65), true).is_err());
        assert!(username(&"a".repeat(21), false).is_err());
        assert!(username("", true).is_err());
    }

    #[test]
    fn e164_and_passwords() {
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+1"));
        assert!(!is_e164("+0123"));
        assert!(password("Passw0rdX").is_ok());
        assert!(password("password1").is_err());
        assert!(password("Pw1").is_err());
    }

    #[test]
    fn tag_rules() {
        assert!(tag_key("aws:cloudformation:stack-name").is_err());
        assert!(tag_key("connect-sso:managed-by").is_ok());
        assert!(tag_key(&"k".repeat(129)).is_err());
        assert!(tags(&BTreeMap::new()).is_err());
    }
}
