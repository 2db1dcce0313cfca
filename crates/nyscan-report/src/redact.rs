//! Image configs made safe to print. A report may carry the image config (Trivy's
//! `Metadata.ImageConfig`), and configs are where secrets leak (`ENV`, build args, commands).
//! Before it goes into a report:
//!
//! - every string a secret was found in (the JSON pointers of the image-config secret
//!   findings, `config.json#/config/Env/1`) is masked whole; for `NAME=value` strings only the
//!   value, so the variable's name stays readable;
//! - every `NAME=value` word whose name says it holds a secret (`DB_PASSWORD`, `API_TOKEN`,
//!   `AWS_SECRET_ACCESS_KEY`...) in `Env` and in the history's `created_by` is masked too,
//!   whether or not a rule matched its value.

use nyscan_analyze::secret::SecretFinding;
use nyscan_secrets::image_config::is_secret_env_name;
use serde_json::Value;

/// What a masked value is replaced with.
pub const MASK: &str = "********";

/// `NAME` when `word` is `NAME=value` with a variable-like name.
fn env_name(word: &str) -> Option<&str> {
    let (name, _) = word.split_once('=')?;
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    ((first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then_some(name)
}

/// `text` with its value masked: `NAME=********` for a `NAME=value`, else the mask alone.
fn mask_whole(text: &str) -> String {
    match env_name(text) {
        Some(name) => format!("{name}={MASK}"),
        None => MASK.to_owned(),
    }
}

/// `text` with the value of every secret-named `NAME=value` word masked.
fn mask_secret_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        match env_name(word) {
            Some(name) if is_secret_env_name(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(word),
        }
        let space_end = after
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(after.len());
        out.push_str(&after[..space_end]);
        rest = &after[space_end..];
    }
    out
}

/// Masks every string of `value` whole.
fn mask_strings(value: &mut Value) {
    match value {
        Value::String(s) => *s = mask_whole(s),
        Value::Array(items) => items.iter_mut().for_each(mask_strings),
        Value::Object(map) => map.values_mut().for_each(mask_strings),
        _ => {}
    }
}

/// Masks the secrets of an image config in place: the values `secrets` point at (image-config
/// findings, `config.json#<pointer>`; other findings are ignored) and secret-named variables.
pub fn redact_image_config(config: &mut Value, secrets: &[SecretFinding]) {
    for secret in secrets {
        let Some(pointer) = secret.path.strip_prefix("config.json#") else {
            continue;
        };
        // A label's finding scanned `key=value`; its pointer names the value.
        if let Some(target) = config.pointer_mut(pointer) {
            mask_strings(target);
        }
    }
    if let Some(env) = config
        .pointer_mut("/config/Env")
        .and_then(Value::as_array_mut)
    {
        for item in env {
            if let Value::String(s) = item {
                *s = mask_secret_words(s);
            }
        }
    }
    if let Some(history) = config.pointer_mut("/history").and_then(Value::as_array_mut) {
        for entry in history {
            if let Some(Value::String(s)) = entry.get_mut("created_by") {
                *s = mask_secret_words(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str) -> SecretFinding {
        SecretFinding {
            path: path.into(),
            start_line: 1,
            end_line: 1,
            rule_id: "aws-access-key-id".into(),
            category: "AWS".into(),
            severity: nyscan_secrets::Severity::Critical,
            title: "AWS Access Key ID".into(),
            offset: 0,
            masked: "AKIA****".into(),
            context: "AKIA****".into(),
        }
    }

    #[test]
    fn masks_found_values_and_secret_named_words() {
        let mut config = serde_json::json!({
            "config": {
                "Env": ["PATH=/usr/bin", "KEY_ID=AKIAZ3MSJV5WKGPLUCQB", "DB_PASSWORD=hunter2", "PUBLIC_KEY=ok"],
                "Cmd": ["/app", "--token", "ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2"],
                "Labels": {"a/b": "AKIAZ3MSJV5WKGPLUCQB"}
            },
            "history": [
                {"created_by": "ENV DB_PASSWORD=hunter2 MODE=prod"},
                {"created_by": "RUN |1 NPM_TOKEN=abc /bin/sh -c npm ci # buildkit"}
            ]
        });
        let secrets = [
            finding("config.json#/config/Env/1"),
            finding("config.json#/config/Cmd"),
            finding("config.json#/config/Labels/a~1b"),
            finding("app/.env"),
            finding("config.json#/nowhere"),
        ];
        redact_image_config(&mut config, &secrets);
        let text = config.to_string();
        for secret in ["AKIAZ3MSJV5WKGPLUCQB", "hunter2", "ghp_Zq3k", "=abc"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(
            config["config"]["Env"],
            serde_json::json!([
                "PATH=/usr/bin",
                "KEY_ID=********",
                "DB_PASSWORD=********",
                "PUBLIC_KEY=ok"
            ])
        );
        assert_eq!(config["config"]["Cmd"][0], MASK);
        assert_eq!(config["config"]["Labels"]["a/b"], MASK);
        assert_eq!(
            config["history"][0]["created_by"],
            "ENV DB_PASSWORD=******** MODE=prod"
        );
        assert_eq!(
            config["history"][1]["created_by"],
            "RUN |1 NPM_TOKEN=******** /bin/sh -c npm ci # buildkit"
        );
    }
}
