//! Strips what a terminal would interpret from strings that come from users or servers.

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
