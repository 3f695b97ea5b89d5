//! What a verification request may cost, checked before any expensive work.
//!
//! Verification is public, and the costly step — merklizing the credential, whose URDNA2015
//! canonicalisation is factorial in indistinguishable blank nodes — runs on whatever the body
//! holds. So the body is measured first, in one linear pass over the JSON: nesting depth,
//! number of values, objects that become blank nodes, and proofs. Anything over a limit is a
//! [`VerifyError::LimitExceeded`] naming it, before merklization, chain or database are
//! touched. The merklizer then bounds what it canonicalises exactly (`claimd_merklize::
//! CanonLimits`: statements, blank nodes, and the canonicalisation's work), which catches what
//! a JSON pass cannot see (contexts that alias `@id`, for instance).

use super::VerifyError;
use serde_json::Value;

/// Limits on one verification request. [`VerifyLimits::DEFAULT`] is far above any real
/// credential (a claimd credential has depth 6, about 150 values, no blank node and 2 proofs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Deepest nesting of arrays and objects in the body (the body itself is depth 1).
    pub max_depth: usize,
    /// Most JSON values in the body (objects, arrays and scalars, all counted).
    pub max_values: usize,
    /// Most potential blank nodes in the credential without its proof: objects with no `id`
    /// or `@id` (outside `@context` and value objects), plus distinct `_:` labels.
    pub max_blank_nodes: usize,
    /// Most proofs in `proof`.
    pub max_proofs: usize,
}

impl VerifyLimits {
    pub const DEFAULT: VerifyLimits = VerifyLimits {
        max_depth: 16,
        max_values: 4096,
        max_blank_nodes: 32,
        max_proofs: 4,
    };
}

impl Default for VerifyLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The limits' names, as errors, `/openapi.json` and `claimd.toml` spell them.
pub const MAX_DEPTH: &str = "max_depth";
pub const MAX_VALUES: &str = "max_values";
pub const MAX_BLANK_NODES: &str = "max_blank_nodes";
pub const MAX_PROOFS: &str = "max_proofs";

pub(super) fn exceeded(limit: &'static str, detail: String) -> VerifyError {
    VerifyError::LimitExceeded { limit, detail }
}

/// Nesting depth of a raw JSON body, without parsing it: run before `serde_json`, whose own
/// recursion limit (128) would otherwise answer first with a bare syntax error. Strings are
/// skipped (brackets inside them do not count); invalid JSON is left for the parser.
///
/// # Errors
/// [`VerifyError::LimitExceeded`] (`max_depth`) when the body nests deeper than `max_depth`.
pub fn check_raw_depth(body: &[u8], max_depth: usize) -> Result<(), VerifyError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(too_deep(max_depth));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn too_deep(max_depth: usize) -> VerifyError {
    exceeded(
        MAX_DEPTH,
        format!("the body nests arrays and objects deeper than {max_depth} levels"),
    )
}

/// Measures a parsed body (the whole credential, `proof` included) against `limits`.
///
/// # Errors
/// [`VerifyError::LimitExceeded`] naming the first limit exceeded.
pub fn check(vc: &Value, limits: &VerifyLimits) -> Result<(), VerifyError> {
    let mut scan = Scan {
        limits,
        values: 0,
        blank: 0,
        labels: std::collections::HashSet::new(),
    };
    scan.walk(vc, 1, Region::Document)?;
    Ok(())
}

/// Where in the body a value is: only the credential itself (not its proof, not its
/// contexts) is merklized, so only there do objects become blank nodes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    Document,
    /// `proof`, `@context`, value objects: counted for depth and size only.
    Other,
}

struct Scan<'a> {
    limits: &'a VerifyLimits,
    values: usize,
    blank: usize,
    labels: std::collections::HashSet<&'a str>,
}

impl<'a> Scan<'a> {
    fn walk(&mut self, v: &'a Value, depth: usize, region: Region) -> Result<(), VerifyError> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(exceeded(
                MAX_VALUES,
                format!(
                    "the body holds more than {} JSON values",
                    self.limits.max_values
                ),
            ));
        }
        match v {
            Value::Object(m) => {
                if depth > self.limits.max_depth {
                    return Err(too_deep(self.limits.max_depth));
                }
                let value_object = m.contains_key("@value");
                if region == Region::Document && !value_object && depth > 1 {
                    // The root is the credential (it has an `id` or is one blank node among
                    // the others; either way it is not what multiplies the work).
                    if !(m.contains_key("id") || m.contains_key("@id")) {
                        self.blank_node()?;
                    }
                }
                for (k, child) in m {
                    let child_region = if region == Region::Other
                        || value_object
                        || k == "@context"
                        || (depth == 1 && k == "proof")
                    {
                        Region::Other
                    } else {
                        Region::Document
                    };
                    self.walk(child, depth + 1, child_region)?;
                }
            }
            Value::Array(items) => {
                if depth > self.limits.max_depth {
                    return Err(too_deep(self.limits.max_depth));
                }
                for item in items {
                    self.walk(item, depth + 1, region)?;
                }
            }
            // A blank node label, as an `id` or as a reference: distinct labels are distinct
            // nodes.
            Value::String(s)
                if region == Region::Document && s.starts_with("_:") && self.labels.insert(s) =>
            {
                self.blank_node()?;
            }
            _ => {}
        }
        Ok(())
    }

    fn blank_node(&mut self) -> Result<(), VerifyError> {
        self.blank += 1;
        if self.blank > self.limits.max_blank_nodes {
            return Err(exceeded(
                MAX_BLANK_NODES,
                format!(
                    "the credential has more than {} blank nodes (objects without an id, or \
                     `_:` labels)",
                    self.limits.max_blank_nodes
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limit(r: Result<(), VerifyError>) -> &'static str {
        match r {
            Err(VerifyError::LimitExceeded { limit, .. }) => limit,
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    fn nested(depth: usize) -> Value {
        (1..depth).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn depth_is_measured_on_raw_bytes_and_on_values() {
        let l = VerifyLimits::DEFAULT;
        for depth in [15, 16] {
            check_raw_depth(nested(depth).to_string().as_bytes(), l.max_depth).unwrap();
        }
        // Deeper than serde_json's own recursion limit: refused before parsing.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            limit(check_raw_depth(deep.as_bytes(), l.max_depth)),
            MAX_DEPTH
        );
        assert_eq!(
            limit(check_raw_depth(
                nested(17).to_string().as_bytes(),
                l.max_depth
            )),
            MAX_DEPTH
        );
        // Brackets inside strings (escaped quotes included) are not nesting.
        let s = json!({"a": "[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{{"});
        check_raw_depth(s.to_string().as_bytes(), 2).unwrap();
        // The parsed check agrees.
        assert_eq!(limit(check(&nested(17), &l)), MAX_DEPTH);
        check(&nested(16), &l).unwrap();
    }

    #[test]
    fn values_are_counted() {
        let l = VerifyLimits {
            max_values: 100,
            ..VerifyLimits::DEFAULT
        };
        check(&json!({"a": vec![1; 98]}), &l).unwrap();
        assert_eq!(limit(check(&json!({"a": vec![1; 99]}), &l)), MAX_VALUES);
    }

    #[test]
    fn blank_nodes_are_counted_in_the_credential_only() {
        let l = VerifyLimits {
            max_blank_nodes: 3,
            ..VerifyLimits::DEFAULT
        };
        let objects = |n: usize| -> Vec<Value> { (0..n).map(|i| json!({"v": i})).collect() };
        // Objects without an id.
        check(&json!({"evidence": objects(3)}), &l).unwrap();
        assert_eq!(
            limit(check(&json!({"evidence": objects(4)}), &l)),
            MAX_BLANK_NODES
        );
        // With an id they are not blank; `_:` ids are, once per label.
        let ids: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("urn:x:{i}")}))
            .collect();
        check(&json!({"evidence": ids}), &l).unwrap();
        let labelled = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"@id": format!("_:n{i}"), "ref": ["_:n0", "_:n1"]}))
                .collect()
        };
        check(&json!({"evidence": labelled(3)}), &l).unwrap();
        assert_eq!(
            limit(check(&json!({"evidence": labelled(4)}), &l)),
            MAX_BLANK_NODES
        );
        // Proofs, contexts and value objects are not merklized as nodes.
        let many = objects(10);
        check(
            &json!({"@context": [{"x": many}], "proof": [{"mtp": many}],
                    "v": {"@value": {"a": 1, "b": {"c": 2}}}}),
            &l,
        )
        .unwrap();
    }
}
