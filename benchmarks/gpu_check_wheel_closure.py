"""Is the GPU check's carry list closed? Every carried wheel's declared requirements must be met.

Reads `benchmarks/gpu_check_wheels.txt` (the carried wheels, pinned, and the `# not carried:`
lines: requirements declared but never imported on the check's path, each with its reason) and
`benchmarks/gpu_machine_packages.txt` (the GPU machine's own packages, pinned where the version
seen there is known). Each carried wheel's `Requires-Dist` (markers evaluated for CPython
3.12 on x86-64 Linux, no extras) must name a carried wheel whose version satisfies it, or a
machine package (checked against its version where known, listed as unverified where not), or
a `not carried` entry. A carried wheel that no root (a package the check imports itself) needs,
directly or through others, is dead weight and fails the check too.

The wheels' metadata comes from PyPI through `pip install --dry-run --report` (metadata files
only, no wheel downloads: a few seconds), or from a folder of wheels (`--wheels .whl`).

    python benchmarks/gpu_check_wheel_closure.py [--wheels DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / "benchmarks" / "gpu_check_wheels.txt"
MACHINE = REPO / "benchmarks" / "gpu_machine_packages.txt"
# the packages the check imports itself (benchmarks/gpu_check_preflight.py imports each)
ROOTS = ("snakemake", "jsonschema", "zeus", "diffusers", "imageio-ffmpeg", "codecarbon")
# the GPU machine: CPython 3.12.3 on x86-64 Linux
ENVIRONMENT = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


@dataclass
class Lists:
    carried: dict[str, str]  # name -> version
    not_carried: dict[str, str]  # name -> why it need not travel
    machine: dict[str, str | None]  # name -> version seen there, or None


@dataclass
class Closure:
    problems: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)


def _pins(path: Path) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version or None
    return found


def read_lists(wheels: Path = WHEELS, machine: Path = MACHINE) -> Lists:
    not_carried = {}
    for line in wheels.read_text().splitlines():
        if line.startswith("# not carried:"):
            name, _, why = line.removeprefix("# not carried:").strip().partition(" ")
            not_carried[canonicalize_name(name)] = why.strip(" ()")
    carried = {name: version or "" for name, version in _pins(wheels).items()}
    return Lists(carried, not_carried, _pins(machine))


def requirements_from_pypi(lists: Lists) -> dict[str, list[str]]:
    """Each carried wheel's Requires-Dist, from PyPI's metadata files (pip's dry-run report)."""
    with tempfile.TemporaryDirectory() as tmp:
        pinned = Path(tmp) / "wheels.txt"
        pinned.write_text("".join(f"{n}=={v}\n" for n, v in lists.carried.items()))
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
        command += ["--ignore-installed", "--no-deps", "--only-binary=:all:"]
        command += ["--python-version", "3.12", "--implementation", "cp"]
        command += [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        command += ["--target", str(Path(tmp) / "target"), "--report", str(report)]
        subprocess.run([*command, "-r", str(pinned)], check=True, capture_output=True)
        installs = json.loads(report.read_text())["install"]
    return {
        canonicalize_name(item["metadata"]["name"]): item["metadata"].get("requires_dist") or []
        for item in installs
    }


def requirements_from_wheels(folder: Path) -> dict[str, list[str]]:
    """Each wheel's Requires-Dist, read from the METADATA inside it."""
    found = {}
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = Parser().parsestr(archive.read(name).decode())
        found[canonicalize_name(metadata["Name"])] = metadata.get_all("Requires-Dist") or []
    return found


def check(lists: Lists, requires: dict[str, list[str]]) -> Closure:
    result = Closure()
    missing = set(lists.carried) - set(requires)
    result.problems += [f"{name}: carried, but its metadata was not found" for name in missing]
    needs: dict[str, set[str]] = {}
    for wheel, lines in sorted(requires.items()):
        needs[wheel] = set()
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(ENVIRONMENT):
                continue
            name = canonicalize_name(requirement.name)
            needs[wheel].add(name)
            wanted = f"{wheel} needs {requirement}"
            if name in lists.carried:
                if not requirement.specifier.contains(Version(lists.carried[name]), True):
                    result.problems.append(f"{wanted}; {lists.carried[name]} is carried")
            elif name in lists.machine:
                version = lists.machine[name]
                if version is None:
                    if str(requirement.specifier):
                        result.unverified.append(f"{wanted}; the machine's version is unknown")
                elif not requirement.specifier.contains(Version(version), True):
                    result.problems.append(
                        f"{wanted}; the machine has {version}: carry a wheel that satisfies it"
                    )
            elif name not in lists.not_carried:
                result.problems.append(
                    f"{wanted}; neither carried, nor on the machine, nor listed as not carried"
                )
    reached, todo = set(), [canonicalize_name(r) for r in ROOTS]
    while todo:
        name = todo.pop()
        if name in lists.carried and name not in reached:
            reached.add(name)
            todo += needs.get(name, ())
    dead = sorted(set(lists.carried) - reached)
    result.problems += [f"{name}: carried, but no root needs it (dead weight)" for name in dead]
    both = sorted(set(lists.carried) & set(lists.not_carried))
    result.problems += [f"{name}: both carried and listed as not carried" for name in both]
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="read the metadata from these wheels")
    args = parser.parse_args(argv)
    lists = read_lists()
    requires = (
        requirements_from_wheels(args.wheels) if args.wheels else requirements_from_pypi(lists)
    )
    result = check(lists, requires)
    for line in result.unverified:
        print(f"unverified: {line}")
    for line in result.problems:
        print(f"PROBLEM: {line}")
    print(
        f"{len(lists.carried)} carried wheels: {len(result.problems)} problems, "
        f"{len(result.unverified)} requirements on machine packages of unknown version"
    )
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
