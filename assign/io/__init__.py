"""Reading and writing problems and schedules: JSON files and table bundles."""

from __future__ import annotations

import os
from pathlib import Path

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
    return load_json(path)


def save(problem: Problem, path: str | os.PathLike[str]) -> None:
    """Save a problem: ``*.json`` as JSON, anything else as a table-bundle folder."""
    if str(path).endswith(".json"):
        save_json(problem, path)
    else:
        from .bundle import save_bundle

        save_bundle(problem, path)
