//! Runtime settings kept in app_settings: typed, validated, with the environment as default.
//! A stored value wins over the environment, so an admin can change them without a restart.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::db::schema::app_settings;
use crate::error::Error;
use crate::Config;

/// Every setting, with its effective value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Settings {
    #[serde(rename = "kosync.registration")]
    pub kosync_registration: bool,
    #[serde(rename = "reading.finished_threshold")]
    pub finished_threshold: f64,
    #[serde(rename = "reading.paused_after_days")]
    pub paused_after_days: i64,
    #[serde(rename = "opds.page_size")]
    pub opds_page_size: i64,
    #[serde(rename = "opds.anonymous")]
    pub opds_anonymous: bool,
    #[serde(rename = "hardcover.metadata_enabled")]
    pub hardcover_metadata_enabled: bool,
    #[serde(rename = "hardcover.sync_enabled")]
    pub hardcover_sync_enabled: bool,
}

enum Kind {
    Bool,
    /// A number in an inclusive range.
    Float(f64, f64),
    Int(i64, i64),
}

const KEYS: &[(&str, Kind)] = &[
    ("kosync.registration", Kind::Bool),
    ("reading.finished_threshold", Kind::Float(0.5, 1.0)),
    ("reading.paused_after_days", Kind::Int(1, 3650)),
    ("opds.page_size", Kind::Int(1, 500)),
    ("opds.anonymous", Kind::Bool),
    ("hardcover.metadata_enabled", Kind::Bool),
    ("hardcover.sync_enabled", Kind::Bool),
];

/// The default of reading.finished_threshold: a book read this far is finished.
pub const FINISHED_THRESHOLD: f64 = 0.95;
/// The default of reading.paused_after_days: a book left alone this long is paused.
pub const PAUSED_AFTER_DAYS: i64 = 30;

impl Settings {
    /// The defaults: the environment where a variable exists, else built-in values.
    pub fn defaults(config: &Config) -> Settings {
        Settings {
            kosync_registration: config.kosync_registration,
            finished_threshold: FINISHED_THRESHOLD,
            paused_after_days: PAUSED_AFTER_DAYS,
            opds_page_size: 50,
            opds_anonymous: false,
            hardcover_metadata_enabled: true,
            hardcover_sync_enabled: true,
        }
    }

    /// `stored` overlaid on the defaults. A stored value that no longer validates (an older
    /// version's range, hand-edited SQL) is ignored with a warning rather than trusted.
    pub fn resolve(defaults: Settings, stored: &BTreeMap<String, Value>) -> Settings {
        let mut merged = match serde_json::to_value(&defaults) {
            Ok(Value::Object(m)) => m,
            _ => return defaults,
        };
        for (key, value) in stored {
            match validate(key, value) {
                Ok(v) => {
                    merged.insert(key.clone(), v);
                }
                Err(e) => log::warn!("ignoring stored setting {key}: {e}"),
            }
        }
        from_map(&merged).unwrap_or(defaults)
    }
}

fn from_map(m: &Map<String, Value>) -> Option<Settings> {
    let b = |k: &str| m.get(k).and_then(Value::as_bool);
    let i = |k: &str| m.get(k).and_then(Value::as_i64);
    Some(Settings {
        kosync_registration: b("kosync.registration")?,
        finished_threshold: m.get("reading.finished_threshold")?.as_f64()?,
        paused_after_days: i("reading.paused_after_days")?,
        opds_page_size: i("opds.page_size")?,
        opds_anonymous: b("opds.anonymous")?,
        hardcover_metadata_enabled: b("hardcover.metadata_enabled")?,
        hardcover_sync_enabled: b("hardcover.sync_enabled")?,
    })
}

/// Checks one key and value; returns the value as stored.
pub fn validate(key: &str, value: &Value) -> Result<Value, Error> {
    let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
        return Err(Error::invalid(
            "settings",
            format!(
                "unknown setting {key:?}; known: {}",
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let wrong = |what: String| Error::invalid("settings", format!("{key} must be {what}"));
    match kind {
        Kind::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| wrong("true or false".into())),
        Kind::Float(lo, hi) => match value.as_f64() {
            Some(v) if (*lo..=*hi).contains(&v) => Ok(value.clone()),
            _ => Err(wrong(format!("a number from {lo} to {hi}"))),
        },
        Kind::Int(lo, hi) => match value.as_i64() {
            Some(v) if (*lo..=*hi).contains(&v) => Ok(Value::from(v)),
            _ => Err(wrong(format!("a whole number from {lo} to {hi}"))),
        },
    }
}

/// What a form needs to ask for a setting: a checkbox, or a number within bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input {
    Checkbox,
    Number { min: f64, max: f64, whole: bool },
}

/// Every setting's key and how a form asks for it, in a stable order.
pub fn inputs() -> impl Iterator<Item = (&'static str, Input)> {
    KEYS.iter().map(|(key, kind)| {
        let input = match kind {
            Kind::Bool => Input::Checkbox,
            Kind::Float(lo, hi) => Input::Number {
                min: *lo,
                max: *hi,
                whole: false,
            },
            Kind::Int(lo, hi) => Input::Number {
                min: *lo as f64,
                max: *hi as f64,
                whole: true,
            },
        };
        (*key, input)
    })
}

/// A setting typed as text (a form's field): read as its kind, then [`validate`]d. A
/// checkbox sends "true" when ticked and nothing (or "false") when not.
pub fn parse_text(key: &str, text: &str) -> Result<Value, Error> {
    let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
        return validate(key, &Value::Null);
    };
    let text = text.trim();
    let value = match kind {
        Kind::Bool => match text {
            "true" | "on" => Value::Bool(true),
            "" | "false" => Value::Bool(false),
            _ => Value::Null,
        },
        // Only finite numbers become JSON numbers: "NaN" or "inf" fall to the range error.
        Kind::Float(..) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Kind::Int(..) => text.parse::<i64>().map_or(Value::Null, Value::from),
    };
    validate(key, &value)
}

/// Whether a change touches the reading rules (the aggregates are then rebuilt).
pub fn changes_reading_rules(values: &[(String, Value)]) -> bool {
    values
        .iter()
        .any(|(k, _)| k == "reading.finished_threshold" || k == "reading.paused_after_days")
}

/// Validates a whole PATCH before anything is written: one bad key changes nothing.
pub fn validate_patch(patch: &Value) -> Result<Vec<(String, Value)>, Error> {
    let Value::Object(map) = patch else {
        return Err(Error::invalid(
            "settings",
            "expected a JSON object of settings",
        ));
    };
    map.iter()
        .map(|(k, v)| Ok((k.clone(), validate(k, v)?)))
        .collect()
}

pub fn load(conn: &mut PgConnection, config: &Config) -> Result<Settings, Error> {
    let stored: BTreeMap<String, Value> = app_settings::table
        .select((app_settings::key, app_settings::value))
        .load::<(String, Value)>(conn)?
        .into_iter()
        .collect();
    Ok(Settings::resolve(Settings::defaults(config), &stored))
}

pub fn store(conn: &mut PgConnection, values: &[(String, Value)]) -> Result<(), Error> {
    conn.transaction(|conn| {
        for (key, value) in values {
            diesel::insert_into(app_settings::table)
                .values((app_settings::key.eq(key), app_settings::value.eq(value)))
                .on_conflict(app_settings::key)
                .do_update()
                .set(app_settings::value.eq(value))
                .execute(conn)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Settings {
        Settings::defaults(&Config::for_database(""))
    }

    #[test]
    fn stored_values_win_over_defaults() {
        let stored = BTreeMap::from([
            ("opds.page_size".to_owned(), json!(20)),
            ("kosync.registration".to_owned(), json!(true)),
        ]);
        let s = Settings::resolve(defaults(), &stored);
        assert_eq!(s.opds_page_size, 20);
        assert!(s.kosync_registration);
        assert_eq!(s.finished_threshold, 0.95);
    }

    #[test]
    fn invalid_stored_values_are_ignored() {
        let stored = BTreeMap::from([("opds.page_size".to_owned(), json!("many"))]);
        assert_eq!(Settings::resolve(defaults(), &stored).opds_page_size, 50);
    }

    #[test]
    fn patch_names_the_bad_key() {
        let e = validate_patch(&json!({"opds.page_size": 10, "nope": 1})).unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
        let e = validate_patch(&json!({"reading.finished_threshold": "high"})).unwrap_err();
        assert!(e.to_string().contains("reading.finished_threshold"), "{e}");
        assert!(validate_patch(&json!({"reading.finished_threshold": 1.5})).is_err());
        assert!(validate_patch(&json!({"reading.paused_after_days": 2.5})).is_err());
        assert_eq!(
            validate_patch(&json!({"opds.anonymous": true})).unwrap(),
            vec![("opds.anonymous".to_owned(), json!(true))]
        );
    }

    #[test]
    fn form_text_is_read_as_its_kind() {
        assert_eq!(parse_text("opds.page_size", " 25 ").unwrap(), json!(25));
        assert_eq!(
            parse_text("reading.finished_threshold", "0.9").unwrap(),
            json!(0.9)
        );
        assert_eq!(parse_text("opds.anonymous", "true").unwrap(), json!(true));
        assert_eq!(parse_text("opds.anonymous", "").unwrap(), json!(false));
        for (key, bad) in [
            ("opds.page_size", "0"),
            ("opds.page_size", "2.5"),
            ("opds.page_size", "many"),
            ("opds.page_size", "99999999999999999999999"),
            ("reading.finished_threshold", "NaN"),
            ("reading.finished_threshold", "inf"),
            ("reading.finished_threshold", "0.1"),
            ("opds.anonymous", "maybe"),
            ("nope", "1"),
        ] {
            let e = parse_text(key, bad).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{key}={bad}: {e}");
        }
        assert_eq!(inputs().count(), KEYS.len());
    }

    #[test]
    fn every_key_round_trips_through_the_struct() {
        let v = serde_json::to_value(defaults()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        known.sort();
        assert_eq!(keys, known);
    }
}
