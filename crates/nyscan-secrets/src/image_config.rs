//! Checks on an image's config JSON (the OCI/Docker image config blob): the user it runs as,
//! its health check, exposed SSH, secrets passed as build args or environment variables,
//! and secrets anywhere in its environment, labels, command or history.
//!
//! Check ids are Trivy's Dockerfile check ids (`DS002`, with `AVD-DS-0002` as `avd_id`),
//! because Trivy runs those checks on a Dockerfile it rebuilds from the same config. Like
//! Trivy, the checks that read instructions look only at history entries after the base
//! image (guessed as the last empty-layer `CMD` before the image's own layers).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::pattern::Pattern;
use crate::scanner::SecretScanner;
use crate::severity::Severity;

/// Largest config accepted (bytes).
pub const MAX_CONFIG_LEN: usize = 16 * 1024 * 1024;

/// Why an image config could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum ImageConfigError {
    /// Larger than [`MAX_CONFIG_LEN`].
    #[error("image config is {len} bytes (at most {MAX_CONFIG_LEN})")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not JSON of the image-config shape.
    #[error("image config is not valid: {message} at line {line}, column {column}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
    },
}

/// One failed configuration check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misconfiguration {
    /// Check id (`DS002`).
    pub id: &'static str,
    /// Trivy's AVD id (`AVD-DS-0002`).
    pub avd_id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What the check wants.
    pub title: &'static str,
    /// What was found.
    pub message: String,
    /// How to fix it.
    pub resolution: &'static str,
    /// The instruction or field at fault, secrets masked (never a value of a secret env).
    pub cause: Option<String>,
}

/// The result of checking one image config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageConfigReport {
    /// Failed checks.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Ids of the checks that ran and passed.
    pub passed: Vec<&'static str>,
    /// Secrets found in environment values, labels, command, entrypoint or history; `path` is
    /// `config.json#/<JSON pointer>` and `start_line` is 1.
    pub secrets: Vec<Finding>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigDoc {
    #[serde(default)]
    config: Option<ContainerConfig>,
    #[serde(default)]
    history: Option<Vec<HistoryEntry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerConfig {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    healthcheck: Option<Healthcheck>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Healthcheck {
    #[serde(default)]
    test: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct HistoryEntry {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    empty_layer: Option<bool>,
}

/// Env/arg names that always carry credentials (the tools that read them say so).
const SECRET_ENVS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "DOCKERHUB_PASSWORD",
    "FIREBASE_TOKEN",
    "CI_DEPLOY_PASSWORD",
    "GOOGLE_API_KEY",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "HEROKU_API_KEY",
];
/// Frontend build tools inline env vars with these prefixes into bundles.
const SECRET_ENV_PREFIXES: &[&str] = &["VITE_", "REACT_APP_"];
/// Names that point at a credentials file (a path, not a secret).
const SECRET_FILE_ENVS: &[&str] = &[
    "AWS_CONFIG_FILE",
    "HF_TOKEN_PATH",
    "GOOGLE_APPLICATION_CREDENTIALS",
];
/// `_`-separated name parts that mark a secret (`DB_PASSWORD`, `API_TOKEN`).
const SECRET_NAME_PARTS: &[&str] = &[
    "apikey",
    "auth",
    "credential",
    "credentials",
    "key",
    "password",
    "pword",
    "passwd",
    "secret",
    "token",
    "usr",
    "psw",
];
/// Commands that store credentials in the layer they run in.
const CREDENTIAL_COMMANDS: &[&str] = &[
    r"aws configure set aws_access_key_id",
    r"aws configure set aws_secret_access_key",
    r"gcloud auth activate-service-account",
    r"az login.*(?:-p|--password|--federated-token)\s",
    r"doctl auth init.*(?:-t|--access-token)\s",
];

/// Whether an env or build-arg name says it holds a secret.
pub fn is_secret_env_name(name: &str) -> bool {
    if SECRET_FILE_ENVS.contains(&name) {
        return false;
    }
    let unprefixed = SECRET_ENV_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    if SECRET_ENVS.contains(&name) || SECRET_ENVS.contains(&unprefixed) {
        return true;
    }
    let parts: Vec<String> = name.split('_').map(str::to_ascii_lowercase).collect();
    parts
        .iter()
        .any(|p| SECRET_NAME_PARTS.contains(&p.as_str()))
        && !parts.iter().any(|p| p == "public")
}

/// A history entry as a Dockerfile instruction (`USER app`, `ENV A=b`, `RUN make`).
fn instruction(created_by: &str) -> String {
    let text = created_by.trim();
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim();
    if let Some(rest) = text.strip_prefix("/bin/sh -c #(nop)") {
        rest.trim().to_owned()
    } else if let Some((_, rest)) = text.split_once("/bin/sh -c") {
        format!("RUN {}", rest.trim())
    } else {
        text.to_owned()
    }
}

/// Index of the last history entry of the base image, if one is recognised: going back from
/// the end past trailing empty layers, the first empty layer that is a `CMD`.
fn base_image_end(history: &[HistoryEntry]) -> Option<usize> {
    let mut seen_layer = false;
    for (i, h) in history.iter().enumerate().rev() {
        let empty = h.empty_layer.unwrap_or(false);
        if !seen_layer {
            if empty {
                continue;
            }
            seen_layer = true;
        }
        if !empty {
            continue;
        }
        let by = h.created_by.as_deref().unwrap_or("");
        if by.starts_with("/bin/sh -c #(nop)  CMD") || by.starts_with("CMD") {
            return Some(i);
        }
    }
    None
}

/// `KEYWORD args` → (`KEYWORD` upper-cased, `args`).
fn split_instruction(text: &str) -> (String, &str) {
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    (word.to_ascii_uppercase(), rest.trim())
}

/// Names set by an `ENV` instruction (`A=1 B=2`, or legacy `A 1`).
fn env_names(args: &str) -> Vec<String> {
    if !args.contains('=') {
        return args
            .split_whitespace()
            .next()
            .map(str::to_owned)
            .into_iter()
            .collect();
    }
    args.split_whitespace()
        .filter_map(|t| {
            t.split_once('=')
                .map(|(k, _)| k.trim_matches('"').to_owned())
        })
        .filter(|k| !k.is_empty())
        .collect()
}

/// Build args recorded in front of a BuildKit `RUN` (`|2 A=1 B=2 /bin/sh -c ...`).
fn run_build_arg_names(created_by: &str) -> Vec<String> {
    let Some(rest) = created_by.trim_start().strip_prefix("RUN |") else {
        return Vec::new();
    };
    let Some((count, rest)) = rest.split_once(' ') else {
        return Vec::new();
    };
    let count: usize = count.parse().unwrap_or(0);
    rest.split_whitespace()
        .take(count)
        .filter_map(|t| t.split_once('=').map(|(k, _)| k.to_owned()))
        .collect()
}

/// A check's fixed facts.
struct Check {
    id: &'static str,
    avd_id: &'static str,
    severity: Severity,
    title: &'static str,
    resolution: &'static str,
}

const DS002: Check = Check {
    id: "DS002",
    avd_id: "AVD-DS-0002",
    severity: Severity::High,
    title: "Image user should not be 'root'",
    resolution: "Set a non-root user: `USER <name>` in the Dockerfile (or config.User).",
};
const DS004: Check = Check {
    id: "DS004",
    avd_id: "AVD-DS-0004",
    severity: Severity::Medium,
    title: "Port 22 exposed",
    resolution: "Remove `EXPOSE 22`: reach containers with `exec`, not SSH.",
};
const DS026: Check = Check {
    id: "DS026",
    avd_id: "AVD-DS-0026",
    severity: Severity::Low,
    title: "No HEALTHCHECK defined",
    resolution: "Add a `HEALTHCHECK` instruction so the runtime can tell a hung container.",
};
const DS031: Check = Check {
    id: "DS031",
    avd_id: "AVD-DS-0031",
    severity: Severity::Critical,
    title: "Secrets passed via `build-args` or envs or copied secret files",
    resolution: "Use a secret mount (`RUN --mount=type=secret`) at build time and a volume or \
                 secret store at run time.",
};

fn fail(out: &mut ImageConfigReport, check: &Check, message: String, cause: Option<String>) {
    out.misconfigurations.push(Misconfiguration {
        id: check.id,
        avd_id: check.avd_id,
        severity: check.severity,
        title: check.title,
        message,
        resolution: check.resolution,
        cause,
    });
}

/// Checks an image config (the JSON blob a manifest's `config` descriptor points to), using
/// `scanner` for secrets in its values.
pub fn check_image_config(
    json: &[u8],
    scanner: &SecretScanner,
) -> Result<ImageConfigReport, ImageConfigError> {
    if json.len() > MAX_CONFIG_LEN {
        return Err(ImageConfigError::TooLarge { len: json.len() });
    }
    let doc: ConfigDoc = serde_json::from_slice(json).map_err(|e| ImageConfigError::Invalid {
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })?;
    let config = doc.config.unwrap_or_default();
    let history = doc.history.unwrap_or_default();
    let own_from = base_image_end(&history).map_or(0, |i| i + 1);
    let own: Vec<(usize, String)> = history[own_from..]
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.created_by.as_deref().map(|c| (own_from + i, c)))
        .map(|(i, c)| (i, instruction(c)))
        .collect();
    let mut out = ImageConfigReport::default();

    // DS002: the image should not run as root.
    let mut users: Vec<String> = own
        .iter()
        .filter_map(|(_, ins)| {
            let (word, args) = split_instruction(ins);
            (word == "USER").then(|| args.to_owned())
        })
        .collect();
    if let Some(user) = config.user.as_deref().filter(|u| !u.is_empty()) {
        users.push(user.to_owned());
    }
    let is_root = |u: &str| {
        let name = u.split(':').next().unwrap_or(u);
        (name == "root" || name == "0") && (u == name || u.len() > name.len() + 1)
    };
    match users.last() {
        None => fail(
            &mut out,
            &DS002,
            "No USER is set: the container runs as root".to_owned(),
            None,
        ),
        Some(user) if is_root(user) => fail(
            &mut out,
            &DS002,
            format!("The last USER is {user:?}: the container runs as root"),
            Some(format!("USER {user}")),
        ),
        Some(_) => out.passed.push(DS002.id),
    }

    // DS004: port 22 should not be exposed.
    let ssh = config
        .exposed_ports
        .iter()
        .flat_map(|ports| ports.keys())
        .find(|p| matches!(p.as_str(), "22" | "22/tcp" | "22/udp"));
    match ssh {
        Some(port) => fail(
            &mut out,
            &DS004,
            format!("Port {port} (SSH) is exposed"),
            Some(format!("ExposedPorts {port}")),
        ),
        None => out.passed.push(DS004.id),
    }

    // DS026: a HEALTHCHECK should be defined.
    let has_health = config
        .healthcheck
        .as_ref()
        .and_then(|h| h.test.as_ref())
        .is_some_and(|t| !t.is_empty())
        || own
            .iter()
            .any(|(_, ins)| split_instruction(ins).0 == "HEALTHCHECK");
    if has_health {
        out.passed.push(DS026.id);
    } else {
        fail(
            &mut out,
            &DS026,
            "The image defines no HEALTHCHECK".to_owned(),
            None,
        );
    }

    // DS031: secrets passed as build args or env vars, or credentials set up in RUN.
    let credential_commands: Vec<Pattern> = CREDENTIAL_COMMANDS
        .iter()
        .filter_map(|p| Pattern::new(p, None).ok())
        .collect();
    let before = out.misconfigurations.len();
    for (i, ins) in &own {
        let (word, args) = split_instruction(ins);
        let names = match word.as_str() {
            "ENV" => env_names(args),
            "ARG" => args
                .split_whitespace()
                .map(|a| a.split('=').next().unwrap_or(a).to_owned())
                .collect(),
            "RUN" => {
                let raw = history[*i].created_by.as_deref().unwrap_or("");
                if !raw.contains("--mount=type=secret")
                    && credential_commands
                        .iter()
                        .any(|p| p.is_match(args.as_bytes()))
                {
                    fail(
                        &mut out,
                        &DS031,
                        format!("history[{i}]: credentials are set up in a RUN instruction"),
                        Some(format!("history[{i}] RUN")),
                    );
                }
                run_build_arg_names(raw)
            }
            _ => Vec::new(),
        };
        for name in names.into_iter().filter(|n| is_secret_env_name(n)) {
            let kind = if word == "RUN" { "ARG" } else { word.as_str() };
            fail(
                &mut out,
                &DS031,
                format!("Possible exposure of secret env {name:?} in {kind}"),
                Some(format!("history[{i}] {kind} {name}")),
            );
        }
    }
    if out.misconfigurations.len() == before {
        out.passed.push(DS031.id);
    }

    // Secrets in values, with the secret engine.
    let mut scan = |pointer: String, text: &str| {
        out.secrets
            .extend(scanner.scan_text(&format!("config.json#{pointer}"), text.as_bytes()));
    };
    for (i, env) in config.env.iter().flatten().enumerate() {
        scan(format!("/config/Env/{i}"), env);
    }
    for (key, value) in config.labels.iter().flatten() {
        scan(
            format!(
                "/config/Labels/{}",
                key.replace('~', "~0").replace('/', "~1")
            ),
            &format!("{key}={value}"),
        );
    }
    if let Some(cmd) = &config.cmd {
        scan("/config/Cmd".to_owned(), &cmd.join(" "));
    }
    if let Some(entrypoint) = &config.entrypoint {
        scan("/config/Entrypoint".to_owned(), &entrypoint.join(" "));
    }
    for (i, h) in history.iter().enumerate() {
        if let Some(by) = &h.created_by {
            scan(format!("/history/{i}/created_by"), by);
        }
        if let Some(comment) = &h.comment {
            scan(format!("/history/{i}/comment"), comment);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> ImageConfigReport {
        check_image_config(json.as_bytes(), &SecretScanner::builtin().unwrap()).unwrap()
    }

    fn failed(r: &ImageConfigReport) -> Vec<&str> {
        r.misconfigurations.iter().map(|m| m.id).collect()
    }

    #[test]
    fn root_healthcheck_ssh() {
        let r = check(r#"{"config":{"ExposedPorts":{"22/tcp":{}}},"history":[]}"#);
        assert_eq!(failed(&r), ["DS002", "DS004", "DS026"]);
        let r = check(
            r#"{"config":{"User":"app","Healthcheck":{"Test":["CMD","true"]}},"history":[]}"#,
        );
        assert!(failed(&r).is_empty());
        assert_eq!(r.passed, ["DS002", "DS004", "DS026", "DS031"]);
        for root in ["root", "0", "0:0", "root:staff"] {
            let r = check(&format!(r#"{{"config":{{"User":"{root}"}}}}"#));
            assert_eq!(r.misconfigurations[0].id, "DS002", "{root}");
            assert!(r.misconfigurations[0].cause.is_some());
        }
        assert!(!failed(&check(r#"{"config":{"User":"1000:0"}}"#)).contains(&"DS002"));
        assert!(!failed(&check(r#"{"config":{"User":"rootless"}}"#)).contains(&"DS002"));
    }

    #[test]
    fn secret_env_names_and_base_image_history() {
        let json = r#"{"config":{"User":"app","Env":["PATH=/usr/bin","AWS_ACCESS_KEY_ID=AKIAZ3MSJV5WKGPLUCQB"]},
          "history":[
            {"created_by":"/bin/sh -c #(nop) ADD file:abc in / "},
            {"created_by":"/bin/sh -c #(nop) ENV GPG_KEY=0123","empty_layer":true},
            {"created_by":"/bin/sh -c #(nop)  CMD [\"bash\"]","empty_layer":true},
            {"created_by":"ENV DB_PASSWORD=hunter2 PUBLIC_KEY=x","empty_layer":true},
            {"created_by":"RUN |1 NPM_TOKEN=abc /bin/sh -c npm ci # buildkit"},
            {"created_by":"RUN /bin/sh -c aws configure set aws_access_key_id $K # buildkit"},
            {"created_by":"HEALTHCHECK &{[\"CMD\" \"true\"]}","empty_layer":true}
          ]}"#;
        let r = check(json);
        let causes: Vec<_> = r
            .misconfigurations
            .iter()
            .filter(|m| m.id == "DS031")
            .map(|m| m.cause.clone().unwrap())
            .collect();
        // GPG_KEY is the base image's; PUBLIC_KEY is public.
        assert_eq!(
            causes,
            [
                "history[3] ENV DB_PASSWORD",
                "history[4] ARG NPM_TOKEN",
                "history[5] RUN"
            ]
        );
        assert!(r.passed.contains(&"DS026"));
        assert_eq!(r.secrets.len(), 1);
        assert_eq!(r.secrets[0].path, "config.json#/config/Env/1");
        assert_eq!(r.secrets[0].masked, "AKIA****************");
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains("Z3MSJV5W") && !text.contains("hunter2"));
    }

    #[test]
    fn refuses_bad_json_by_position() {
        let e =
            check_image_config(b"{\"config\": 5}", &SecretScanner::builtin().unwrap()).unwrap_err();
        assert!(
            matches!(e, ImageConfigError::Invalid { line: 1, .. }),
            "{e}"
        );
        assert!(is_secret_env_name("VITE_OPENAI_API_KEY"));
        assert!(!is_secret_env_name("GOOGLE_APPLICATION_CREDENTIALS"));
        assert!(!is_secret_env_name("KEYBOARD"));
    }
}
