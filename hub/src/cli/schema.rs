//! Checks a JSON value against the JSON Schema of the exchange's file format
//! (`docs/exchange/appeal.schema.json`, embedded). Only the keywords that schema uses are
//! understood — `type`, `required`, `properties`, `additionalProperties: false`, `minLength`,
//! `maxLength`, `enum`, `pattern` (as "none of these characters", the one form it uses) and
//! `format: date-time` — and an unknown keyword in the schema is an error, so the schema cannot
//! grow a rule this check silently ignores.

use serde_json::Value;

/// The exchange's file format.
pub const APPEAL_SCHEMA: &str = include_str!("../../../docs/exchange/appeal.schema.json");

/// Keywords that only document.
const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description"];

/// The first way `value` breaks `schema`, with the path to it; `Ok` when it fits.
pub fn check(schema: &Value, value: &Value) -> Result<(), String> {
    check_at(schema, value, "")
}

fn check_at(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(rules) = schema.as_object() else {
        return Err(format!("schema at `{path}` is not an object"));
    };
    let at = |what: String| {
        if path.is_empty() {
            what
        } else {
            format!("{path}: {what}")
        }
    };
    for (keyword, rule) in rules {
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "type" => {
                let want = rule.as_str().unwrap_or_default();
                let fits = match want {
                    "object" => value.is_object(),
                    "string" => value.is_string(),
                    "boolean" => value.is_boolean(),
                    "integer" => value.is_i64() || value.is_u64(),
                    other => return Err(format!("schema type `{other}` is not understood")),
                };
                if !fits {
                    return Err(at(format!("must be a {want}")));
                }
            }
            "required" => {
                for name in rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if value.get(name).is_none() {
                        return Err(at(format!("`{name}` is required")));
                    }
                }
            }
            "properties" => {
                let props = rule.as_object().cloned().unwrap_or_default();
                if let Some(fields) = value.as_object() {
                    for (name, field) in fields {
                        if let Some(sub) = props.get(name) {
                            let path = if path.is_empty() {
                                name.clone()
                            } else {
                                format!("{path}.{name}")
                            };
                            check_at(sub, field, &path)?;
                        } else if rules.get("additionalProperties") == Some(&Value::Bool(false)) {
                            return Err(at(format!("`{name}` is not a field of this format")));
                        }
                    }
                }
            }
            "additionalProperties" => {}
            "minLength" | "maxLength" => {
                let limit = rule.as_u64().unwrap_or_default() as usize;
                if let Some(text) = value.as_str() {
                    let chars = text.chars().count();
                    if keyword == "minLength" && chars < limit {
                        return Err(at(if limit == 1 {
                            "must not be empty".into()
                        } else {
                            format!("at least {limit} characters")
                        }));
                    }
                    if keyword == "maxLength" && chars > limit {
                        return Err(at(format!("at most {limit} characters ({chars} given)")));
                    }
                }
            }
            "enum" => {
                let allowed = rule.as_array().cloned().unwrap_or_default();
                if !allowed.contains(value) {
                    let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
                    return Err(at(format!("must be one of {}", names.join(", "))));
                }
            }
            "pattern" => {
                let pattern = rule.as_str().unwrap_or_default();
                let Some(banned) = pattern
                    .strip_prefix("^[^")
                    .and_then(|p| p.strip_suffix("]+$"))
                else {
                    return Err(format!("schema pattern `{pattern}` is not understood"));
                };
                let banned = banned.replace("\\n", "\n").replace("\\r", "\r");
                if let Some(text) = value.as_str()
                    && text.chars().any(|c| banned.contains(c))
                {
                    return Err(at("contains a character this field may not hold".into()));
                }
            }
            "format" => {
                if rule.as_str() == Some("date-time")
                    && let Some(text) = value.as_str()
                    && chrono::DateTime::parse_from_rfc3339(text).is_err()
                {
                    return Err(at(format!("`{text}` is not an RFC 3339 date and time")));
                }
            }
            other => return Err(format!("schema keyword `{other}` is not understood")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        serde_json::from_str(APPEAL_SCHEMA).expect("the schema is JSON")
    }

    #[test]
    fn the_documented_format_is_checked() {
        let good = json!({
            "external_id": "1545-2026-000017", "kind": "complaint", "category_code": "UCC-07.01",
            "district_code": "1210100000", "text": "Немає води",
            "citizen": { "name": "Петренко Ганна", "phone": "0671234567" },
            "received_at": "2026-11-28T09:15:00+02:00", "anonymous": false,
        });
        assert_eq!(check(&schema(), &good), Ok(()));
        let cases = [
            (json!({ "kind": "complaint" }), "`external_id` is required"),
            (
                json!({ "external_id": "a,b", "kind": "complaint", "category_code": "c", "district_code": "d", "text": "t" }),
                "external_id: contains",
            ),
            (
                json!({ "external_id": "x", "kind": "wish", "category_code": "c", "district_code": "d", "text": "t" }),
                "kind: must be one of",
            ),
            (
                json!({ "external_id": "x", "kind": "complaint", "category_code": "c", "district_code": "d", "text": "t", "extra": 1 }),
                "`extra` is not a field",
            ),
            (
                json!({ "external_id": "x", "kind": "complaint", "category_code": "c", "district_code": "d", "text": "t", "citizen": { "name": 5 } }),
                "citizen.name: must be a string",
            ),
            (
                json!({ "external_id": "x", "kind": "complaint", "category_code": "c", "district_code": "d", "text": "t", "received_at": "yesterday" }),
                "received_at: `yesterday` is not",
            ),
        ];
        for (value, want) in cases {
            let err = check(&schema(), &value).unwrap_err();
            assert!(err.contains(want), "{err} should say {want}");
        }
    }

    #[test]
    fn an_unknown_rule_is_an_error_not_a_pass() {
        let schema = json!({ "type": "object", "minProperties": 1 });
        assert!(
            check(&schema, &json!({}))
                .unwrap_err()
                .contains("not understood")
        );
    }
}
