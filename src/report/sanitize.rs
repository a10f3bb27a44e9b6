//! Strips what a terminal would interpret from strings that come from users or servers.

/// Replaces control and bidi-override characters with U+FFFD, so a room name or a server
/// message cannot move the cursor, recolor the terminal or reorder a line.
pub fn line(s: &str) -> String {
    s.chars()
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
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
}
