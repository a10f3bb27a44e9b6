//! Words for counts in messages: "1 room", "2 rooms", "1 egress", "3 egresses".

/// `n` and `noun`, the noun in the plural unless `n` is 1.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with("ss") {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

/// Up to three names quoted, then how many more: `'a', 'b', 'c' and 2 more`.
pub fn some_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let shown: Vec<String> = names
        .iter()
        .take(3)
        .map(|n| format!("'{}'", crate::redact::line(n)))
        .collect();
    match names.len().saturating_sub(3) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "action"), "1 action");
        assert_eq!(count(0, "room"), "0 rooms");
        assert_eq!(count(1, "egress"), "1 egress");
        assert_eq!(count(2, "egress"), "2 egresses");
        assert_eq!(count(1, "zombie room"), "1 zombie room");
        assert_eq!(some_names(["a"]), "'a'");
        assert_eq!(
            some_names(["a", "b", "c", "d", "e"]),
            "'a', 'b', 'c' and 2 more"
        );
    }
}
