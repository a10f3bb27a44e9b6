//! What may be printed: secrets masked (tokens, URL credentials and queries) and terminal
//! controls stripped from strings that come from users or servers. Below both the network
//! seam and the reports, which both use it.

/// Replaces control and bidi-override characters with U+FFFD, so a room name or a server
/// message cannot move the cursor, recolor the terminal or reorder a line.
pub fn line(s: &str) -> String {
    s.chars()
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Replaces JSON Web Tokens (`eyJ...`) with `[redacted token]`: LiveKit's 401 bodies echo
/// the refused token in full, and a token is a credential until it expires.
pub fn redact_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let token_len = rest[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(rest.len() - start);
        out.push_str("[redacted token]");
        rest = &rest[start + token_len..];
    }
    out.push_str(rest);
    out
}

/// [`line`], cut to at most `max` characters with an ellipsis: a 100 KB room name must not
/// widen every row of a table.
pub fn short(s: &str, max: usize) -> String {
    let clean = line(s);
    match clean.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if clean.chars().count() > max => format!("{}…", &clean[..cut]),
        _ => clean,
    }
}

/// A URL as it may be printed: user-info and query (where passwords and tokens hide) masked
/// as `***`, the fragment dropped, terminal controls stripped. Works on any text, even one
/// that does not parse as a URL.
pub fn url(s: &str) -> String {
    let s = s.split('#').next().unwrap_or_default();
    let (s, query) = match s.split_once('?') {
        Some((before, _)) => (before, "?***"),
        None => (s, ""),
    };
    let (scheme, rest) = s.split_once("://").unwrap_or(("", s));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let masked = match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => format!("***@{host}{}", &rest[authority_end..]),
        None => rest.to_owned(),
    };
    let scheme = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    line(&format!("{scheme}{masked}{query}"))
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn removes_escapes_newlines_and_bidi_overrides() {
        assert_eq!(
            line("a\x1b[31mb\nc\u{202E}d"),
            "a\u{FFFD}[31mb\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(line("plain-room_1 ünïcode"), "plain-room_1 ünïcode");
    }

    #[test]
    fn urls_lose_credentials_and_queries() {
        let cases = [
            (
                "http://admin:PASSWORD@host:7880/p",
                "http://***@host:7880/p",
            ),
            ("wss://host/?token=abc#frag", "wss://host/?***"),
            ("https://u@h/x@y", "https://***@h/x@y"),
            ("/relative?sig=1", "/relative?***"),
            ("not a url", "not a url"),
            ("http://h\u{202E}x", "http://h\u{FFFD}x"),
        ];
        for (input, want) in cases {
            assert_eq!(super::url(input), want, "{input}");
        }
    }

    #[test]
    fn long_strings_are_cut_with_an_ellipsis() {
        assert_eq!(super::short("abcdef", 4), "abc…");
        assert_eq!(super::short("abcd", 4), "abcd");
        assert_eq!(super::short("ééééé", 3), "éé…");
        assert_eq!(super::short("a\u{202E}b", 10), "a\u{FFFD}b");
    }

    #[test]
    fn redacts_echoed_tokens() {
        let body =
            "invalid token: eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJrIn0.c2ln-_x, error: token is expired";
        assert_eq!(
            super::redact_tokens(body),
            "invalid token: [redacted token], error: token is expired"
        );
        assert_eq!(super::redact_tokens("no token here"), "no token here");
    }
}
