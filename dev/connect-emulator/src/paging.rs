//! NextToken/MaxResults paging and query strings.
//!
//! A token names the last item of the previous page (lists are ordered by id), so deleting or
//! adding items between pages neither repeats nor skips the others.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

const TOKEN_PREFIX: &str = "emu1-";

/// Decoded query parameters, repeated keys kept (UntagResource's `tagKeys`).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// `maxResults` from a query string: 1..=`max`, `default` when absent.
pub fn max_results(raw: Option<&str>, max: usize, default: usize) -> ApiResult<usize> {
    match raw {
        None => Ok(default),
        Some(raw) => {
            let value = raw.parse::<i64>().map_err(|_| {
                ApiError::invalid_parameter(format!("maxResults {raw:?} is not a number"))
            })?;
            max_results_number(Some(value), max, default)
        }
    }
}

pub fn max_results_number(value: Option<i64>, max: usize, default: usize) -> ApiResult<usize> {
    match value {
        None => Ok(default),
        Some(value) if value >= 1 && value as u64 <= max as u64 => Ok(value as usize),
        Some(value) => Err(ApiError::invalid_parameter(format!(
            "MaxResults must be between 1 and {max} (got {value})"
        ))),
    }
}

fn encode(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

fn decode(token: &str) -> Option<String> {
    let hex = token.strip_prefix(TOKEN_PREFIX)?;
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// One page of `items` (key, value), sorted by key here, after the token's key.
pub fn page(
    mut items: Vec<(String, Value)>,
    token: Option<&str>,
    max: usize,
) -> ApiResult<(Vec<Value>, Option<String>)> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let after = match token {
        None => None,
        Some(token) => Some(
            decode(token)
                .ok_or_else(|| ApiError::invalid_parameter("The NextToken is not valid"))?,
        ),
    };
    let start = match &after {
        None => 0,
        Some(after) => items.partition_point(|(key, _)| key <= after),
    };
    let rest = &items[start..];
    let next = (rest.len() > max).then(|| encode(&rest[max - 1].0));
    let page = rest.iter().take(max).map(|(_, v)| v.clone()).collect();
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_keys() {
        let items: Vec<(String, Value)> =
            (0..5).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let (first, token) = page(items.clone(), None, 2).unwrap();
        assert_eq!(first, vec![Value::from(0), Value::from(1)]);
        let token = token.unwrap();
        // Deleting an item already returned does not shift the next page.
        let fewer: Vec<_> = items.iter().skip(1).cloned().collect();
        let (second, token) = page(fewer, Some(&token), 2).unwrap();
        assert_eq!(second, vec![Value::from(2), Value::from(3)]);
        let (third, token) = page(items.clone(), token.as_deref(), 2).unwrap();
        assert_eq!(third, vec![Value::from(4)]);
        assert_eq!(token, None);
        assert!(page(items, Some("garbage"), 2).is_err());
    }
}
