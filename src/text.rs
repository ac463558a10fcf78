//! User-supplied text: which characters a device name may hold, and how user text (user ids,
//! names) is written into log lines so that it can never start or fake a line.

use std::fmt;

/// Characters that change how the text around them is shown without being seen themselves:
/// control characters (C0, DEL, C1), line and paragraph separators, and the Unicode format
/// characters (general category Cf): bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), zero-width spaces and joiners (U+200B–U+200F), word joiners and invisible
/// operators (U+2060–U+2064), the BOM (U+FEFF), the soft hyphen, tag characters and the rest of
/// Cf. A device name holding one could pass for another name in a list.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// A value of a `key=value` log line taken from user input: written bare when it holds only
/// characters that cannot end the value (letters, digits, `-_.@+:/`), else as a quoted Rust
/// string literal, in which newlines, quotes, backslashes, control and format characters are
/// escaped. Either way the value stays one token on one line.
pub(crate) struct LogValue<'a>(pub(crate) &'a str);

impl fmt::Display for LogValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = !self.0.is_empty()
            && self
                .0
                .chars()
                .all(|c| (c.is_alphanumeric() && !is_hidden(c)) || "-_.@+:/".contains(c));
        if bare {
            f.write_str(self.0)
        } else {
            write!(f, "\"")?;
            for c in self.0.chars() {
                if is_hidden(c) && !matches!(c, '\n' | '\r' | '\t' | '\0') {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                } else {
                    write!(f, "{}", c.escape_debug())?;
                }
            }
            write!(f, "\"")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_values_stay_on_one_line() {
        let show = |s: &str| LogValue(s).to_string();
        assert_eq!(show("alice"), "alice");
        assert_eq!(show("alice@example.com"), "alice@example.com");
        assert_eq!(show("Zoë"), "Zoë");
        assert_eq!(show(""), "\"\"");
        assert_eq!(
            show("x\nauthentication_succeeded user=admin"),
            r#""x\nauthentication_succeeded user=admin""#
        );
        assert_eq!(show("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(show("evil\u{202E}txt"), r#""evil\u{202e}txt""#);
        assert_eq!(show("\r\u{1b}[2J\u{85}"), r#""\r\u{1b}[2J\u{85}""#);
        assert_eq!(show("line\u{2028}sep"), r#""line\u{2028}sep""#);
        for s in ["x\ny", "a b", "\"q\"", "\u{200B}", "tab\t"] {
            let out = show(s);
            assert!(out.starts_with('"') && out.ends_with('"'), "{out}");
            assert!(!out.chars().any(is_hidden), "{out:?}");
        }
    }

    #[test]
    fn hidden_characters_are_control_and_format_characters() {
        for c in [
            '\0',
            '\n',
            '\u{7f}',
            '\u{85}',
            '\u{AD}',
            '\u{200B}',
            '\u{200D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{2028}',
        ] {
            assert!(is_hidden(c), "{:x}", u32::from(c));
        }
        for c in ['a', 'é', 'ж', '電', 'ه', ' ', '📱', '-', '\u{A0}'] {
            assert!(!is_hidden(c), "{:x}", u32::from(c));
        }
    }
}
