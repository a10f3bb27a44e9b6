//! `--redis-url`: validated once, shown only with its password masked.

use std::fmt;

use crate::secret::Secret;

/// A `redis://` or `rediss://` URL. `Display` and `Debug` mask the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    full: Secret,
    shown: String,
}

impl RedisUrl {
    /// Parses and checks the scheme. The error never repeats the URL, which may hold a
    /// password.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut url = reqwest::Url::parse(text.trim()).map_err(|e| {
            format!("--redis-url / LK_REAPER_REDIS_URL is not a URL ({e}); expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://...")
        })?;
        if !matches!(url.scheme(), "redis" | "rediss") || !url.has_host() {
            return Err(format!(
                "--redis-url / LK_REAPER_REDIS_URL must be redis://HOST[:PORT] or rediss://HOST[:PORT] (TLS), not {}://",
                url.scheme()
            ));
        }
        let full = Secret::new(url.as_str().to_owned());
        if !url.password().unwrap_or("").is_empty() {
            // Cannot fail: the URL has a host.
            let _ = url.set_password(Some("***"));
        }
        Ok(Self {
            full,
            shown: url.to_string(),
        })
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        self.full.expose()
    }

    /// Whether it is `rediss://` (TLS).
    pub fn is_tls(&self) -> bool {
        self.shown.starts_with("rediss://")
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::RedisUrl;

    #[test]
    fn the_password_is_masked_everywhere_but_in_expose() {
        let url = RedisUrl::parse("rediss://default:hunter2@redis.internal:6380/2").unwrap();
        assert_eq!(
            url.to_string(),
            "rediss://default:***@redis.internal:6380/2"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.expose().contains("hunter2"));
        assert!(url.is_tls());
        let plain = RedisUrl::parse("redis://127.0.0.1:6379").unwrap();
        assert_eq!(plain.to_string(), "redis://127.0.0.1:6379");
        assert!(!plain.is_tls());
    }

    #[test]
    fn other_schemes_and_garbage_are_refused_without_echoing_the_url() {
        let err = RedisUrl::parse("http://:hunter2@host").unwrap_err();
        assert!(
            err.contains("not http://") && !err.contains("hunter2"),
            "{err}"
        );
        let err = RedisUrl::parse("hunter2").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
