"""The lock files in this directory, checked against pyproject.toml (`make lock` writes them).

    python requirements/locks.py check          # every disagreement, one a line; exit 1 if any
    python requirements/locks.py build-inputs   # what requirements/build.txt is compiled from

Which lock holds which dependency set:

    interceptor.txt   the shared base + [interceptor]    (cloud_pubsub_interceptor/Dockerfile)
    ui-connector.txt  the shared base + [ui-connector]   (ui_connector/Dockerfile)
    dev.txt           the shared base + [dev], which names both services' extras (`make install`)
    build.txt         [build-system] requires, and pip   (both Dockerfiles and `make install`)

The locks are for the images' platform: CPython 3.11 on Linux.
"""
from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK_DIR = ROOT / "requirements"
# The lock file of each service's extra, and the one everything is installed from locally.
SERVICE_LOCKS = {"interceptor": "interceptor.txt", "ui-connector": "ui-connector.txt"}
DEV_EXTRA, DEV_LOCK, BUILD_LOCK = "dev", "dev.txt", "build.txt"
# pip is pinned with the build tools: `make install` and the images install it from build.txt.
BUILD_EXTRAS = ["pip>=24"]
# Markers are evaluated for the images' interpreter and platform.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
          "platform_python_implementation": "CPython", "platform_machine": "x86_64"}


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    hashes: int


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def read_lock(path: Path) -> dict[str, Pin]:
    """name -> Pin, for each `name==version --hash=...` entry of a hashed requirements file."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pins: dict[str, Pin] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement_text, _, options = line.partition(" --hash=")
        requirement = Requirement(requirement_text.strip())
        [specifier] = list(requirement.specifier) or [None]
        if specifier is None or specifier.operator != "==":
            raise ValueError(f"{path.name}: {requirement_text.strip()!r} is not pinned with ==")
        hashes = line.count("--hash=sha256:")
        pins[canonicalize_name(requirement.name)] = Pin(requirement.name, Version(specifier.version), hashes)
    return pins


def wanted(extra: str | None) -> list[Requirement]:
    """The requirements of the shared base plus EXTRA, the project's own extras expanded."""
    meta = project()["project"]
    own = canonicalize_name(meta["name"])
    extras = meta.get("optional-dependencies", {})
    result: list[Requirement] = []
    seen: set[str] = set()

    def add(texts: list[str]) -> None:
        for text in texts:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(TARGET):
                continue
            if canonicalize_name(requirement.name) == own:
                for name in sorted(requirement.extras):
                    if name not in seen:
                        seen.add(name)
                        add(extras[name])
                continue
            result.append(requirement)

    add(meta.get("dependencies", []))
    if extra is not None:
        seen.add(extra)
        add(extras[extra])
    return result


def build_inputs() -> list[str]:
    return [*project()["build-system"]["requires"], *BUILD_EXTRAS]


def disagreements(lock_name: str, requirements: list[Requirement]) -> list[str]:
    path = LOCK_DIR / lock_name
    if not path.exists():
        return [f"requirements/{lock_name} is missing: run `make lock`"]
    pins = read_lock(path)
    problems = []
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"requirements/{lock_name} lacks {requirement} (pyproject.toml): run `make lock`")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"requirements/{lock_name} pins {pin.name}=={pin.version}, outside {requirement} "
                            "(pyproject.toml): run `make lock`")
    problems += [f"requirements/{lock_name}: {pin.name} has no --hash" for pin in pins.values() if not pin.hashes]
    return problems


def check() -> list[str]:
    """Every way in which pyproject.toml and the locks disagree (empty: they agree)."""
    extras = project()["project"].get("optional-dependencies", {})
    problems = []
    for extra, lock_name in SERVICE_LOCKS.items():
        if extra not in extras:
            problems.append(f"pyproject.toml has no [project.optional-dependencies] {extra}")
            continue
        problems += disagreements(lock_name, wanted(extra))
    problems += disagreements(DEV_LOCK, wanted(DEV_EXTRA))
    problems += disagreements(BUILD_LOCK, [Requirement(text) for text in build_inputs()])
    # What the tests run is what the images ship: a package pinned in both has the same version.
    if (LOCK_DIR / DEV_LOCK).exists():
        dev = read_lock(LOCK_DIR / DEV_LOCK)
        for lock_name in SERVICE_LOCKS.values():
            if not (LOCK_DIR / lock_name).exists():
                continue
            for key, pin in read_lock(LOCK_DIR / lock_name).items():
                if key not in dev:
                    problems.append(f"requirements/{lock_name} pins {pin.name}, which requirements/{DEV_LOCK} lacks")
                elif dev[key].version != pin.version:
                    problems.append(f"requirements/{lock_name} pins {pin.name}=={pin.version}, "
                                    f"requirements/{DEV_LOCK} {dev[key].version}: run `make lock`")
    return problems


def main(argv: list[str]) -> int:
    if argv == ["build-inputs"]:
        print("\n".join(build_inputs()))
        return 0
    if argv == ["check"]:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
