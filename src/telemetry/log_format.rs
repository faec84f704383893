//! The log's format: env_logger's lines for people, or one JSON object a line for log
//! collectors (LIBRIS_LOG_FORMAT=json).

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".into()),
        }
    }
}

/// Starts logging at RUST_LOG's levels (default `info`) in `format`.
pub fn init_logging(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let line = json_line(
                chrono::Utc::now(),
                record.level(),
                record.target(),
                &record.args().to_string(),
            );
            writeln!(out, "{line}")
        });
    }
    builder.init();
}

fn json_line(
    at: chrono::DateTime<chrono::Utc>,
    level: log::Level,
    target: &str,
    message: &str,
) -> String {
    serde_json::json!({
        "ts": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": level.as_str(),
        "target": target,
        "msg": message,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_formats_only() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!(" JSON ".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        assert_eq!("".parse(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }

    #[test]
    fn a_json_line_is_one_object_with_the_message_escaped() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 5_000_000).unwrap();
        let line = json_line(at, log::Level::Warn, "libris::db", "said \"no\"\nthen left");
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2027-01-15T08:00:00.005Z");
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["target"], "libris::db");
        assert_eq!(v["msg"], "said \"no\"\nthen left");
    }
}
