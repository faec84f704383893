//! PostgreSQL's own tools, `pg_dump` and `pg_restore`, run on the configured database.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use percent_encoding::percent_decode_str;

/// A database URL with its password taken out: a command line is readable by every user of
/// the machine (`ps`), so the tools get the password in their environment (`PGPASSWORD`).
#[derive(Debug, PartialEq)]
pub struct Conninfo {
    pub url: String,
    pub password: Option<String>,
}

/// Splits the password out of a `postgres://` or `postgresql://` URL (`user:password@`, or
/// a `password=` parameter), or out of a `key=value` connection string.
pub fn conninfo(url: &str) -> Conninfo {
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let Some(scheme_end) = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .map(|rest| url.len() - rest.len())
    else {
        return key_value_conninfo(url);
    };
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let mut password = None;
    let authority_end = main[scheme_end..]
        .find('/')
        .map_or(main.len(), |i| scheme_end + i);
    let authority = &main[scheme_end..authority_end];
    let mut out = main[..scheme_end].to_owned();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = match userinfo.split_once(':') {
                Some((user, pass)) => {
                    password = Some(decode(pass));
                    user
                }
                None => userinfo,
            };
            out.push_str(user);
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(&main[authority_end..]);
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| match kv.strip_prefix("password=") {
                Some(p) => {
                    password = Some(decode(p));
                    false
                }
                None => true,
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    Conninfo { url: out, password }
}

/// A `host=… password=…` connection string without its password. Values are single words or
/// single-quoted (with `\'` and `\\` escapes), as libpq reads them.
fn key_value_conninfo(s: &str) -> Conninfo {
    let mut kept: Vec<&str> = Vec::new();
    let mut password = None;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // One `key = value` pair, from `start` to `i`.
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' {
            i += 1;
        }
        let key = s[start..i].trim();
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if bytes.get(i) == Some(&b'\'') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let c = s[i..].chars().next().unwrap_or_default();
                value.push(c);
                i += c.len_utf8();
            }
            i += 1;
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                let c = s[i..].chars().next().unwrap_or_default();
                value.push(c);
                i += c.len_utf8();
            }
        }
        let pair = &s[start..i.min(s.len())];
        if key == "password" {
            password = Some(value);
        } else {
            kept.push(pair);
        }
    }
    Conninfo {
        url: kept.join(" "),
        password,
    }
}

/// `name` (pg_dump, pg_restore): on PATH (Debian's wrapper picks the right version), else
/// the newest under /usr/lib/postgresql.
pub fn tool(name: &str) -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if let Some(p) = on_path {
        return Ok(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let v = d.file_name().to_str()?.parse().ok()?;
            let p = d.path().join("bin").join(name);
            p.is_file().then_some((v, p))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).ok_or_else(|| {
        format!("{name} not found: install PostgreSQL's client tools (Debian: postgresql-client)")
    })
}

/// Runs `name` with `args` against `url`'s database (`--dbname`), on `file` (pg_dump's
/// `--file`, pg_restore's input); its error output becomes the error.
pub fn run(name: &str, url: &str, args: &[&str], file: &Path) -> Result<(), String> {
    let info = conninfo(url);
    let mut cmd = Command::new(tool(name)?);
    cmd.args(args).arg("--dbname").arg(&info.url);
    if name == "pg_dump" {
        cmd.arg("--file");
    }
    cmd.arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = &info.password {
        cmd.env("PGPASSWORD", password);
    }
    let out = cmd.output().map_err(|e| format!("running {name}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url() {
        assert_eq!(
            conninfo("postgresql://ann:s%40cret@db.example:5433/libris?sslmode=require"),
            Conninfo {
                url: "postgresql://ann@db.example:5433/libris?sslmode=require".into(),
                password: Some("s@cret".into())
            }
        );
        assert_eq!(
            conninfo("postgres:///libris?host=/run/postgresql&password=x&user=ann"),
            Conninfo {
                url: "postgres:///libris?host=/run/postgresql&user=ann".into(),
                password: Some("x".into())
            }
        );
        assert_eq!(
            conninfo("host=/tmp password='s p\\'w' dbname=x"),
            Conninfo {
                url: "host=/tmp dbname=x".into(),
                password: Some("s p'w".into())
            }
        );
        assert_eq!(
            conninfo("password = pw host=db"),
            Conninfo {
                url: "host=db".into(),
                password: Some("pw".into())
            }
        );
        for plain in [
            "postgresql:///x?host=/tmp/pg&port=5432&user=postgres",
            "postgresql://ann@host/db",
            "host=/tmp dbname=x",
        ] {
            assert_eq!(conninfo(plain).url, plain);
            assert_eq!(conninfo(plain).password, None);
        }
    }
}
