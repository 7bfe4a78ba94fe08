"""environment.yml (Binder, conda) and pyproject.toml (pip, CI) must list the same dependencies."""

from __future__ import annotations

from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {Requirement(s).name.lower(): Requirement(s) for s in specs}


def _environment_requirements() -> tuple[dict, dict[str, Requirement]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found: dict[str, Requirement] = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            assert list(entry) == ["pip"], f"only a pip: section may be a mapping, got {entry}"
            lines = [line for line in entry["pip"] if not line.startswith("-")]
        else:
            lines = [entry]
        for line in lines:
            name = line.split("=")[0].split(">")[0].split("<")[0].strip().lower()
            if name in {"python", "pip"}:
                continue
            found[name] = Requirement(line)  # pip syntax; no conda single-'=' pins besides python
    return env, found


def test_environment_has_the_expected_shape():
    env, _ = _environment_requirements()
    assert set(env) == {"name", "channels", "dependencies"}
    assert "conda-forge" in env["channels"]
    assert sum(isinstance(d, dict) for d in env["dependencies"]) == 1


def test_same_package_names():
    py = _pyproject_requirements()
    _, conda = _environment_requirements()
    assert set(py) == set(conda), (
        f"only in pyproject.toml: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}"
    )


def test_same_version_constraints():
    py = _pyproject_requirements()
    _, conda = _environment_requirements()
    for name, req in py.items():
        env_spec = conda[name].specifier
        if name == "torch":
            # environment.yml pins the CPU wheel; it must satisfy the package's range
            (pin,) = [s.version for s in env_spec]
            assert Version(pin) in req.specifier
        else:
            assert env_spec == req.specifier, f"{name}: {env_spec} vs {req.specifier}"
