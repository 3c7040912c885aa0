//! The command grammar, apart from its effects: `/name[@bot] args…`.

/// A command as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// Lower-cased command name.
    pub name: String,
    /// `@bot` as typed, without the `@`.
    pub addressee: Option<&'a str>,
    /// Everything after the command word.
    pub args: &'a str,
}

/// Parses `text` when it is a command; `None` for plain text.
pub fn parse(text: &str) -> Option<Parsed<'_>> {
    let rest = text.strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(end);
    let (name, addressee) = match word.split_once('@') {
        Some((n, b)) => (n, Some(b)),
        None => (word, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some(Parsed {
        name: name.to_ascii_lowercase(),
        addressee,
        args: args.trim(),
    })
}

/// Whether a command is for this bot: no `@`, or `@` this bot (any case).
pub fn is_for_me(p: &Parsed<'_>, my_username: &str) -> bool {
    p.addressee
        .is_none_or(|a| a.eq_ignore_ascii_case(my_username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_addressees() {
        let p = parse("/restart  mayor ").expect("test value");
        assert_eq!(
            (p.name.as_str(), p.addressee, p.args),
            ("restart", None, "mayor")
        );
        let p = parse("/Status@Gas_Bot").expect("test value");
        assert_eq!(
            (p.name.as_str(), p.addressee, p.args),
            ("status", Some("Gas_Bot"), "")
        );
        assert!(is_for_me(&p, "gas_bot"));
        assert!(!is_for_me(
            &parse("/status@other_bot").expect("test value"),
            "gas_bot"
        ));
        assert!(parse("hello").is_none());
        assert!(parse("/").is_none());
        assert!(parse("/ status").is_none());
        assert!(parse("/usr/bin").is_none());
    }
}
