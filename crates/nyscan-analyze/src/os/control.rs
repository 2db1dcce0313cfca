//! Deb822-style stanzas ("Key: value" fields, continuation lines indented, stanzas separated
//! by blank lines), as dpkg's `status` files hold them.

/// One stanza: fields in file order, keys as written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Stanza<'a> {
    fields: Vec<(&'a str, String)>,
}

impl<'a> Stanza<'a> {
    /// The first value of `key` (compared without regard to case), continuation lines joined
    /// with `\n`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Splits `text` into stanzas. Lines that are neither fields nor continuations are skipped,
/// as dpkg's readers do with damaged lines.
pub(crate) fn stanzas(text: &str) -> Vec<Stanza<'_>> {
    let mut out = Vec::new();
    let mut current = Stanza::default();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.fields.push((key.trim(), value.trim().to_owned()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_fields_and_continuations() {
        let text = "Package: a\nStatus: install ok installed\nDescription: short\n long line\n .\n\n\n\
                    package: b\r\nversion: 1\r\n";
        let s = stanzas(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("package"), Some("a"));
        assert_eq!(s[0].get("Description"), Some("short\nlong line\n."));
        assert_eq!(s[1].get("Package"), Some("b"));
        assert_eq!(s[1].get("Version"), Some("1"));
        assert_eq!(s[1].get("Source"), None);
    }
}
