#!/usr/bin/env python3
"""Pack a directory tree as a plain OCI v1 image (one gzip tar layer) in an OCI image layout:
the "OCI v1 twin" of a Nydus image built from the same tree, for the scan benchmark.

Usage: oci-v1-pack.py --rootfs DIR --out LAYOUT [--tag TAG]
Push with: skopeo copy --dest-tls-verify=false oci:LAYOUT:TAG docker://HOST/REPO:TAG
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer_tar(rootfs):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(top, name)
                arc = os.path.relpath(path, rootfs)
                tar.add(path, arcname=arc, recursive=False)
    return raw.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="latest")
    args = ap.parse_args()
    tar = layer_tar(args.rootfs)
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    layer, layer_size = put_blob(args.out, gzip.compress(tar, compresslevel=6, mtime=0))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "oci-v1-pack.py " + os.path.basename(args.rootfs)}],
    }
    cfg, cfg_size = put_blob(args.out, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}
        ],
    }
    man, man_size = put_blob(args.out, json.dumps(manifest, sort_keys=True).encode())
    with open(os.path.join(args.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": man,
                "size": man_size,
                "annotations": {"org.opencontainers.image.ref.name": args.tag},
            }
        ],
    }
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f)
    print(f"{args.out}: layer {layer_size} bytes (tar {len(tar)}), manifest {man}")


if __name__ == "__main__":
    main()
