//! Rendering errors as `error:` / `Caused by:` / `hint:` and choosing the exit code.

use std::process::ExitCode;

/// Exit code for errors (0 is success, 1 is reserved for findings).
pub(crate) const EXIT_ERROR: u8 = 2;

/// A hint for a known error, worded for the command line.
fn hint(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<nyscan_rafs::Error>() {
            return match e {
                nyscan_rafs::Error::Unsupported(u) => Some(format!(
                    "nyscan does not read {u} yet; `nydus-image inspect` may, or convert the image without it"
                )),
                nyscan_rafs::Error::NotBootstrap { reason } if reason.contains("data blob") => Some(
                    "pass the bootstrap (image.boot from the image's last layer), or use oci:DIR for an image layout"
                        .to_owned(),
                ),
                nyscan_rafs::Error::NotBootstrap { .. } => Some(
                    "a Nydus bootstrap starts with the RAFS v5 magic or has EROFS magic at 0x400".to_owned(),
                ),
                _ if e.is_corrupt() => {
                    Some("the bootstrap is damaged or truncated; fetch it again".to_owned())
                }
                _ => None,
            };
        }
        if let Some(e) = cause.downcast_ref::<nyscan_oci::Error>() {
            return match e {
                nyscan_oci::Error::Registry(e) if e.is_auth() => Some(
                    "log in with `docker login` (nyscan reads ~/.docker/config.json or $DOCKER_CONFIG)".to_owned(),
                ),
                nyscan_oci::Error::Registry(e) if e.to_string().contains("certificate") => Some(
                    "use --plain-http for an HTTP registry, or --insecure to skip TLS verification".to_owned(),
                ),
                nyscan_oci::Error::NotNydus { .. } => Some(
                    "convert it with `nydusify convert`, or scan the original image with an OCI scanner".to_owned(),
                ),
                nyscan_oci::Error::NoPlatform { .. } => Some("choose one with --platform os/arch".to_owned()),
                _ => None,
            };
        }
        if let Some(e) = cause.downcast_ref::<nyscan_inspect::InspectError>() {
            return match e {
                nyscan_inspect::InspectError::UnknownCommand(_) => Some(format!(
                    "commands: {}",
                    nyscan_inspect::Command::NAMES.join(", ")
                )),
                _ => None,
            };
        }
    }
    None
}

/// Writes the error chain to stderr and returns the exit code.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    eprint!("{}", render(err));
    ExitCode::from(EXIT_ERROR)
}

/// The text of an error: `error: top`, `Caused by: ...` lines, then `hint: ...`.
pub(crate) fn render(err: &anyhow::Error) -> String {
    let mut out = format!("error: {err}\n");
    for cause in err.chain().skip(1) {
        out.push_str(&format!("  Caused by: {cause}\n"));
    }
    if let Some(h) = hint(err) {
        out.push_str(&format!("hint: {h}\n"));
    }
    out
}
