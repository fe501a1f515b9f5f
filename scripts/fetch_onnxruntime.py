#!/usr/bin/env python3
"""Fetches the ONNX Runtime shared library that Warden loads at run time.

The library comes from the official `onnxruntime` wheel on PyPI (the only
registry this project may use); the wheel is a zip that carries
`onnxruntime/capi/libonnxruntime.so.<version>`. This script downloads the
wheel for this machine with pip, checks the library against the pinned
sha256 and writes it into DEST atomically.

Usage: fetch_onnxruntime.py VERSION SHA256 DEST_DIR

build.rs runs it once per cache directory; the container build runs it too.
"""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    version, want_sha, dest = sys.argv[1:]
    name = f"libonnxruntime.so.{version}"
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", f"onnxruntime=={version}", "-d", tmp],
            check=True,
        )
        wheels = glob.glob(os.path.join(tmp, "onnxruntime-*.whl"))
        if not wheels:
            print(f"pip downloaded no onnxruntime wheel into {tmp}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(f"onnxruntime/capi/{name}")
    got_sha = hashlib.sha256(data).hexdigest()
    if got_sha != want_sha:
        print(f"{name} from {os.path.basename(wheels[0])} has sha256 {got_sha}, expected {want_sha}", file=sys.stderr)
        return 1
    fd, part = tempfile.mkstemp(dir=dest, prefix=".part-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(part, 0o755)
    os.replace(part, os.path.join(dest, name))
    print(os.path.join(dest, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
