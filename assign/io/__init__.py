"""Reading and writing problems and schedules: JSON files and table bundles."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputIssue, ProblemError
from ..model import Problem
from .json_io import load_json, load_schedule, problem_to_dict, save_json, save_schedule

__all__ = ["load", "save", "load_json", "save_json", "load_schedule", "save_schedule", "problem_to_dict"]


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """A bundle is a folder (holding ``problem.toml``) or a ``problem.toml`` path."""
    p = Path(path)
    return p.is_dir() or p.name == "problem.toml"


def load(path: str | os.PathLike[str]) -> Problem:
    """Load a problem from a JSON file or a table-bundle folder."""
    if is_bundle(path):
        from .bundle import load_bundle

        p = Path(path)
        return load_bundle(p.parent if p.name == "problem.toml" else p)
    if Path(path).suffix == ".toml" and Path(path).is_file():
        raise ProblemError([InputIssue(str(path), "problem", None, None, None, _toml_hint(Path(path)))])
    return load_json(path)


def _toml_hint(path: Path) -> str:
    """What to say of a ``*.toml`` path that is not a bundle's ``problem.toml``."""
    from ..errors import ScenarioError
    from ..synth import load_scenario

    try:
        load_scenario(path)
    except ScenarioError:
        return "not a problem: give a problem JSON file, a bundle folder or its problem.toml"
    return (
        "this is a scenario, not a problem; make a problem of it first with "
        f"`assign generate {path} --seed N --out PROBLEM.json`"
    )


def save(problem: Problem, path: str | os.PathLike[str]) -> None:
    """Save a problem: ``*.json`` as JSON, anything else as a table-bundle folder."""
    if str(path).endswith(".json"):
        save_json(problem, path)
    else:
        from .bundle import save_bundle

        save_bundle(problem, path)
