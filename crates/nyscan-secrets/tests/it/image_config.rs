//! Image-config checks on configs shaped like the ones BuildKit writes, and the same verdicts
//! as Trivy's Dockerfile checks on the Dockerfile that built them.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use nyscan_secrets::{SecretScanner, check_image_config};
use nyscan_testutil::Skip;

use crate::skip;

/// An image built `FROM debian:12` by BuildKit with these instructions.
struct Scenario {
    name: &'static str,
    user: &'static str,
    healthcheck: bool,
    expose: Option<&'static str>,
    env: &'static [&'static str],
}

impl Scenario {
    /// The image config BuildKit writes: the base image's two history entries, then ours.
    fn config(&self) -> String {
        let mut history = vec![
            serde_json::json!({"created": "2025-05-12T00:00:00Z", "created_by": "# debian.sh --arch 'amd64' out/ 'bookworm' '@1747008000'", "comment": "debuerreotype 0.15"}),
            serde_json::json!({"created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]", "empty_layer": true}),
        ];
        let step = |by: String, empty: bool| serde_json::json!({"created_by": by, "comment": "buildkit.dockerfile.v0", "empty_layer": empty});
        for e in self.env {
            history.push(step(format!("ENV {e}"), true));
        }
        history.push(step(
            "RUN /bin/sh -c echo built > /built # buildkit".into(),
            false,
        ));
        if let Some(port) = self.expose {
            history.push(step(format!("EXPOSE map[{port}:{{}}]"), true));
        }
        if self.healthcheck {
            history.push(step(
                "HEALTHCHECK &{[\"CMD-SHELL\" \"test -f /built\"] \"30s\" \"3s\" \"0s\" \"0s\" '\\x03'}".into(),
                true,
            ));
        }
        if !self.user.is_empty() {
            history.push(step(format!("USER {}", self.user), true));
        }
        let mut env =
            vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()];
        env.extend(self.env.iter().map(|e| (*e).to_owned()));
        let mut config = serde_json::json!({"Env": env, "Cmd": ["bash"], "WorkingDir": "/"});
        if !self.user.is_empty() {
            config["User"] = self.user.into();
        }
        if let Some(port) = self.expose {
            config["ExposedPorts"] = serde_json::json!({ port: {} });
        }
        if self.healthcheck {
            config["Healthcheck"] = serde_json::json!({"Test": ["CMD-SHELL", "test -f /built"], "Interval": 30_000_000_000u64, "Timeout": 3_000_000_000u64});
        }
        serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": history,
        })
        .to_string()
    }

    /// The Dockerfile that builds it.
    fn dockerfile(&self) -> String {
        let mut d = String::from("FROM debian:12.10\n");
        for e in self.env {
            d.push_str(&format!("ENV {e}\n"));
        }
        d.push_str("RUN echo built > /built\n");
        if let Some(port) = self.expose {
            d.push_str(&format!("EXPOSE {port}\n"));
        }
        if self.healthcheck {
            d.push_str("HEALTHCHECK --interval=30s --timeout=3s CMD test -f /built\n");
        }
        if !self.user.is_empty() {
            d.push_str(&format!("USER {}\n", self.user));
        }
        d
    }
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "bare",
        user: "",
        healthcheck: false,
        expose: Some("22/tcp"),
        env: &[],
    },
    Scenario {
        name: "root",
        user: "root",
        healthcheck: true,
        expose: None,
        env: &[],
    },
    Scenario {
        name: "uid0",
        user: "0:0",
        healthcheck: false,
        expose: Some("22/udp"),
        env: &[],
    },
    Scenario {
        name: "good",
        user: "app",
        healthcheck: true,
        expose: Some("8080/tcp"),
        env: &[],
    },
    Scenario {
        name: "token",
        user: "app",
        healthcheck: true,
        expose: None,
        env: &["GITHUB_TOKEN=ghp_Zq3kV9mW2xT7bR4nY8cP1dL6fH0jS5gA3eU2"],
    },
];

/// The checks we run; Trivy's other Dockerfile checks look at instructions a config only
/// partly keeps.
const OUR_CHECKS: &[&str] = &["DS002", "DS004", "DS026", "DS031"];

fn ours(s: &Scenario, scanner: &SecretScanner) -> BTreeSet<String> {
    check_image_config(s.config().as_bytes(), scanner)
        .unwrap()
        .misconfigurations
        .iter()
        .map(|m| m.id.to_owned())
        .collect()
}

#[test]
fn checks_on_buildkit_configs() {
    let scanner = SecretScanner::builtin().unwrap();
    let expect: &[&[&str]] = &[
        &["DS002", "DS004", "DS026"],
        &["DS002"],
        &["DS002", "DS004", "DS026"],
        &[],
        &["DS031"],
    ];
    for (s, want) in SCENARIOS.iter().zip(expect) {
        let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(ours(s, &scanner), want, "{}", s.name);
    }
    let token = check_image_config(SCENARIOS[4].config().as_bytes(), &scanner).unwrap();
    // The token shows in Env and in the ENV history entry, masked in both.
    let paths: Vec<_> = token.secrets.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "config.json#/config/Env/1",
            "config.json#/history/2/created_by"
        ]
    );
    let text = serde_json::to_string(&token).unwrap();
    assert!(!text.contains("Zq3kV9mW2xT7"));
}

/// Trivy's failed check ids per Dockerfile, from `trivy config` over `dir/<name>/Dockerfile`.
fn trivy_config(dir: &Path) -> Result<Vec<(String, String)>, Skip> {
    let trivy = Path::new("/usr/local/bin/trivy");
    if !trivy.exists() {
        return Err(Skip("trivy not installed at /usr/local/bin/trivy".into()));
    }
    let cache = tempfile::tempdir().map_err(|e| Skip(e.to_string()))?;
    let out = Command::new(trivy)
        .args(["config", "--format", "json", "--quiet", "--cache-dir"])
        .arg(cache.path())
        .arg(dir)
        .output()
        .map_err(|e| Skip(format!("cannot run trivy: {e}")))?;
    if !out.status.success() {
        return Err(Skip(format!(
            "trivy config failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )));
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("trivy JSON");
    let mut failed = Vec::new();
    for result in report["Results"].as_array().into_iter().flatten() {
        let target = result["Target"].as_str().unwrap_or_default();
        let name = target.split('/').next().unwrap_or_default().to_owned();
        for m in result["Misconfigurations"].as_array().into_iter().flatten() {
            if m["Status"].as_str() == Some("FAIL") {
                failed.push((
                    name.clone(),
                    m["ID"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    Ok(failed)
}

#[test]
fn same_verdicts_as_trivy_dockerfile_checks() {
    let dir = tempfile::tempdir().unwrap();
    for s in SCENARIOS {
        fs::create_dir_all(dir.path().join(s.name)).unwrap();
        fs::write(dir.path().join(s.name).join("Dockerfile"), s.dockerfile()).unwrap();
    }
    let failed = match trivy_config(dir.path()) {
        Ok(f) => f,
        Err(reason) => return skip("same_verdicts_as_trivy_dockerfile_checks", &reason),
    };
    let scanner = SecretScanner::builtin().unwrap();
    for s in SCENARIOS {
        let theirs: BTreeSet<String> = failed
            .iter()
            .filter(|(name, id)| name == s.name && OUR_CHECKS.contains(&id.as_str()))
            .map(|(_, id)| id.clone())
            .collect();
        let mut ours = ours(s, &scanner);
        // The installed Trivy predates DS031 (secret env names); README lists it.
        if !failed.iter().any(|(_, id)| id == "DS031") {
            ours.remove("DS031");
        }
        assert_eq!(
            ours,
            theirs,
            "{}: ours vs Trivy on\n{}",
            s.name,
            s.dockerfile()
        );
    }
}
