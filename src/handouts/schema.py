"""Shared pieces for YAML files read against a schema: content files and clinic files.

Every problem is reported as "file:field: message" so an editor can go straight to it, and
all problems in a file are collected, never just the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]

M = TypeVar("M", bound=BaseModel)

# Pydantic's wording is written for programmers; editors of medical text get these instead.
_FRIENDLY = {
    "missing": "is required but missing",
    "extra_forbidden": "is not a known field (check the spelling; see content/README.md)",
    "string_type": "must be text (put quotes around numbers, e.g. \"1.0\")",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD",
    "date_parsing": "must be a date written YYYY-MM-DD",
    "date_type": "must be a date written YYYY-MM-DD",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must be lowercase letters, digits and dashes",
}


class Strict(BaseModel):
    """A schema model that rejects unknown keys, so a typo never silently drops text."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def display_path(path: Path, root: Path | None = None) -> str:
    """A short path for messages: relative to root when it is inside it."""
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def read_yaml(path: Path, shown: str) -> tuple[Any, list[str]]:
    """Parse a YAML file; return (data, problems). Never raises for a user's file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [f"{shown}: file not found"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{shown}: cannot read file ({exc.__class__.__name__}: {exc})"]
    try:
        # libyaml's parser when PyYAML has it: the same safe constructors, ~10x faster, which
        # is most of the start-up of a pack re-run with nothing to build.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [f"{shown}:{where}: YAML syntax error: {problem}"]
    if not isinstance(data, dict):
        return None, [f"{shown}: must be a YAML mapping of fields, not {type(data).__name__}"]
    return data, []


def validation_problems(shown: str, exc: ValidationError) -> list[str]:
    """Turn a pydantic error into one "file:field: message" line per problem."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(top)"
        message = _FRIENDLY.get(err["type"], err["msg"])
        if err["type"] == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        elif err["type"] == "literal_error":
            message = f"must be one of {err['ctx']['expected']}"
        problems.append(f"{shown}:{field}: {message}")
    return problems


def validate(model: type[M], data: Any, shown: str) -> tuple[M | None, list[str]]:
    """Validate data against a model; return (object, []) or (None, problems)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, validation_problems(shown, exc)
