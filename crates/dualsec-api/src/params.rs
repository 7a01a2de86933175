//! Request parameters: the query string and a form body merged into one flat map, then read back
//! into typed values (api-reference §2.2, §8 items 2–5).
//!
//! Two layers, as everywhere in dualsec: [`decode_pairs`] only splits and percent-decodes
//! (`+` is a space, form style); the typed getters ([`Params::bool`], [`Params::list`] …) check
//! each value and name the parameter that was wrong.
//!
//! Flattening follows the SDK's `Utils._object_handler`: objects become `Parent.Child`, arrays
//! become `Parent.1`, `Parent.2` … (1-based).

use std::collections::BTreeMap;

use crate::error::ApiError;

/// Upper bounds that keep a hostile request cheap. A real CreateVpnConnection carries ~45 keys.
pub const MAX_PARAMS: usize = 512;
/// Longest accepted parameter name.
pub const MAX_KEY_LEN: usize = 256;
/// Longest accepted parameter value (a PEM certificate fits easily).
pub const MAX_VALUE_LEN: usize = 16 * 1024;
/// Highest accepted 1-based index in a flattened array (`Tags.N` allows 20, tunnels 2).
pub const MAX_LIST_INDEX: u32 = 100;

/// Percent-decodes one `application/x-www-form-urlencoded` component (`+` means space).
///
/// Fails on invalid UTF-8 after decoding.
pub fn form_decode(component: &str) -> Result<String, ApiError> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ApiError::invalid_parameter_format(
                "a request parameter is not valid UTF-8 after percent-decoding",
            )
        })
}

/// Splits `a=b&c=d` into decoded pairs, in wire order. Empty components (`a=b&&c=d`) are skipped.
pub fn decode_pairs(encoded: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in encoded.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((form_decode(k)?, form_decode(v)?));
    }
    Ok(out)
}

/// The flat parameter map of one request: query string and form body merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// Merges decoded pairs from the query and the body. The same key twice (in one place or both)
    /// is rejected: which one wins would be a guess.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if k.is_empty() {
                continue;
            }
            if k.len() > MAX_KEY_LEN {
                return Err(ApiError::invalid_parameter_format(format!(
                    "a parameter name is longer than {MAX_KEY_LEN} characters"
                )));
            }
            if v.len() > MAX_VALUE_LEN {
                return Err(ApiError::invalid_parameter(
                    &k,
                    format!("the value is longer than {MAX_VALUE_LEN} characters"),
                ));
            }
            if map.len() >= MAX_PARAMS {
                return Err(ApiError::invalid_parameter_format(format!(
                    "more than {MAX_PARAMS} parameters in one request"
                )));
            }
            if map.contains_key(&k) {
                return Err(ApiError::invalid_parameter(
                    &k,
                    "the parameter is given more than once",
                ));
            }
            map.insert(k, v);
        }
        Ok(Self { map })
    }

    /// Builds from an already flat map (tests, the CLI).
    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Self { map }
    }

    /// The underlying sorted map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.map
    }

    /// Removes a key (used to strip the V2 signature's own parameters).
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }

    /// True when no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The raw string value, `None` when absent. An empty value counts as absent, as the SDKs never
    /// send empty strings for unset fields but some shells do (`Name=`).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A present, non-empty string or `MissingParameter`.
    pub fn required_str(&self, key: &str) -> Result<&str, ApiError> {
        self.str(key)
            .ok_or_else(|| ApiError::missing_parameter(key))
    }

    /// An owned optional string.
    pub fn string(&self, key: &str) -> Option<String> {
        self.str(key).map(str::to_owned)
    }

    /// A boolean, case-insensitive (`True`, `true`, `TRUE`; api-reference §1: the Python SDK sends
    /// `str(bool)`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.str(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_parameter(key, "expected true or false")),
        }
    }

    /// An unsigned integer (numbers arrive as decimal strings).
    pub fn u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.str(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                ApiError::invalid_parameter(key, "expected a non-negative decimal integer")
            }),
        }
    }

    /// A `u32`, range-checked.
    pub fn u32(&self, key: &str) -> Result<Option<u32>, ApiError> {
        match self.u64(key)? {
            None => Ok(None),
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| ApiError::invalid_parameter(key, "the number is too large")),
        }
    }

    /// The sub-object `prefix.*` with the prefix stripped (`TunnelOptionsSpecification.EnableDpd`
    /// → `EnableDpd`).
    pub fn object(&self, prefix: &str) -> Params {
        let dotted = format!("{prefix}.");
        let map = self
            .map
            .range(dotted.clone()..)
            .take_while(|(k, _)| k.starts_with(&dotted))
            .map(|(k, v)| (k[dotted.len()..].to_owned(), v.clone()))
            .collect();
        Params { map }
    }

    /// The 1-based array `prefix.N.*`, ordered by N, each element with `prefix.N.` stripped.
    /// A scalar element (`LocalSubnet.1=x`) appears under the empty key (`item.str("")`).
    pub fn list(&self, prefix: &str) -> Result<Vec<(u32, Params)>, ApiError> {
        let dotted = format!("{prefix}.");
        let mut items: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in self
            .map
            .range(dotted.clone()..)
            .take_while(|(k, _)| k.starts_with(&dotted))
        {
            let rest = &k[dotted.len()..];
            let (idx, sub) = match rest.split_once('.') {
                Some((i, s)) => (i, s),
                None => (rest, ""),
            };
            let index = idx
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIST_INDEX).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        k,
                        format!("{prefix} is a list; its index must be a number from 1 to {MAX_LIST_INDEX}"),
                    )
                })?;
            items
                .entry(index)
                .or_default()
                .insert(sub.to_owned(), v.clone());
        }
        Ok(items
            .into_iter()
            .map(|(i, map)| (i, Params { map }))
            .collect())
    }

    /// Parameters whose names are not in `known` and do not start with one of `known_prefixes`.
    pub fn unknown_keys<'a>(&'a self, known: &[&str], known_prefixes: &[&str]) -> Vec<&'a str> {
        self.map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .filter(|k| !known_prefixes.iter().any(|p| k.starts_with(p)))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Params {
        Params::from_pairs(decode_pairs(s).unwrap()).unwrap()
    }

    #[test]
    fn plus_is_space_and_percent_decodes() {
        // api-reference §2.6: ModifyTunnelAttribute sends Psk='p w' as `p+w`.
        let q = p(
            "TunnelOptionsSpecification.TunnelIkeConfig.Psk=p+w&LocalSubnet=192.168.0.0%2F24%2C172.17.0.0%2F16",
        );
        assert_eq!(
            q.str("TunnelOptionsSpecification.TunnelIkeConfig.Psk"),
            Some("p w")
        );
        assert_eq!(q.str("LocalSubnet"), Some("192.168.0.0/24,172.17.0.0/16"));
    }

    #[test]
    fn booleans_are_case_insensitive() {
        let q = p("A=True&B=false&C=TRUE&D=yes");
        assert_eq!(q.bool("A").unwrap(), Some(true));
        assert_eq!(q.bool("B").unwrap(), Some(false));
        assert_eq!(q.bool("C").unwrap(), Some(true));
        assert_eq!(q.bool("Missing").unwrap(), None);
        let e = q.bool("D").unwrap_err();
        assert_eq!(e.code(), "InvalidParameter");
        assert!(e.message().contains('D'));
    }

    #[test]
    fn lists_are_one_based_and_sorted_numerically() {
        let q = p("Tags.10.Key=ten&Tags.2.Key=two&Tags.1.Key=one&Tags.1.Value=v1&Other=x");
        let l = q.list("Tags").unwrap();
        let idx: Vec<u32> = l.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![1, 2, 10]);
        assert_eq!(l[0].1.str("Key"), Some("one"));
        assert_eq!(l[0].1.str("Value"), Some("v1"));
        assert_eq!(l[2].1.str("Key"), Some("ten"));
    }

    #[test]
    fn nested_list_objects_reassemble() {
        let q = p(
            "TunnelOptionsSpecification.1.TunnelIkeConfig.Psk=a&TunnelOptionsSpecification.2.TunnelIkeConfig.Psk=b&TunnelOptionsSpecification.1.Role=master",
        );
        let l = q.list("TunnelOptionsSpecification").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].1.object("TunnelIkeConfig").str("Psk"), Some("a"));
        assert_eq!(l[0].1.str("Role"), Some("master"));
        assert_eq!(l[1].1.object("TunnelIkeConfig").str("Psk"), Some("b"));
    }

    #[test]
    fn bad_list_index_is_a_typed_error() {
        for bad in [
            "Tags.0.Key=a",
            "Tags.x.Key=a",
            "Tags.101.Key=a",
            "Tags.-1.Key=a",
            "Tags..Key=a",
        ] {
            let e = p(bad).list("Tags").unwrap_err();
            assert_eq!(e.code(), "InvalidParameter", "{bad}");
            assert_eq!(e.status().as_u16(), 400);
        }
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = Params::from_pairs(decode_pairs("A=1&A=2").unwrap()).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter");
    }

    #[test]
    fn invalid_utf8_is_a_typed_error() {
        assert!(decode_pairs("A=%FF%FE").is_err());
    }

    #[test]
    fn object_prefix_does_not_bleed_into_similar_names() {
        let q = p("TunnelIkeConfig.Psk=a&TunnelIkeConfigX.Psk=b");
        let o = q.object("TunnelIkeConfig");
        assert_eq!(o.as_map().len(), 1);
        assert_eq!(o.str("Psk"), Some("a"));
    }
}
