//! OCI image layouts made by the fixture packer: the bootstrap comes out byte for byte, and
//! damaged layouts give clear errors.

use std::path::{Path, PathBuf};

use nyscan_oci::manifest::Platform;
use nyscan_oci::{Error, OciLayout, Source, load_bootstrap};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

#[test]
fn loads_the_bootstrap_of_an_oci_layout() {
    let dir = fixtures().join("oci/v6-merged");
    let expected = std::fs::read(fixtures().join("official/v6-merged/boot")).unwrap();
    for input in [
        format!("oci:{}", dir.display()),
        format!("oci:{}:latest", dir.display()),
    ] {
        let source = Source::parse(&input, None).unwrap();
        let loaded = load_bootstrap(&source, &Platform::host(), &Default::default()).unwrap();
        assert!(*loaded.bytes == *expected, "{input}: bootstrap differs");
        let manifest = loaded.manifest.unwrap();
        assert_eq!(manifest.nydus_blob_layers().len(), 2);
    }
    let err = load_bootstrap(
        &Source::parse(&format!("oci:{}:nope", dir.display()), None).unwrap(),
        &Platform::host(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoSuchImage { .. }), "{err}");
}

#[test]
fn a_tampered_bootstrap_layer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    copy_dir(&fixtures().join("oci/v6-merged"), &dir);
    let layout = OciLayout::open(&dir).unwrap();
    let (_, manifest) = layout.resolve_manifest(None, &Platform::host()).unwrap();
    let layer = manifest.nydus_bootstrap_layer().unwrap().clone();
    let path = layout.blob_path(&layer.digest).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let load = || {
        let source = Source::OciLayout {
            dir: dir.clone(),
            reference: None,
        };
        load_bootstrap(&source, &Platform::host(), &Default::default()).unwrap_err()
    };
    let err = load();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    std::fs::write(&path, &bytes[..100]).unwrap();
    let err = load();
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    std::fs::remove_file(dir.join("oci-layout")).unwrap();
    let err = OciLayout::open(&dir).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}
