"""Shared pieces for YAML files read against a schema: content files and clinic files.

Every problem is reported as "file:field: message" so an editor can go straight to it, and
all problems in a file are collected, never just the first.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]

# Dates a handout may show or start from. Outside them no clinic means it, and date
# arithmetic near year 9999 overflows; every typed date (CLI, pack file, CSV, web form)
# is held to this range.
FIRST_DATE, LAST_DATE = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


def in_date_range(value: datetime.date) -> datetime.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"must be a date from {FIRST_DATE} to {LAST_DATE}")
    return value


def _has_control(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 0x7F for ch in value)


def _plain_path(value: str) -> str:
    if _has_control(value):
        raise ValueError("must be a file name without control characters")
    return value


def _one_line(value: str) -> str:
    if _has_control(value):
        raise ValueError("must be one line of text, without control characters")
    return value


# Text from a file that is printed on a handout (a clinic's name, phone, address): one
# line, so no NUL byte, escape sequence or line break reaches the page or a log.
OneLine = AfterValidator(_one_line)


# A file named inside a YAML file (a logo, a clinic file, a patients CSV): one line of
# text, so a NUL byte or a newline is a clear error instead of a crash when it is opened.
FileRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
                    AfterValidator(_plain_path)]
Day = Annotated[datetime.date, AfterValidator(in_date_range)]

# YAML nested deeper than this, or with more values than this (aliases can multiply a
# small file: "billion laughs"), is refused before any schema walks it.
MAX_DEPTH = 40
MAX_NODES = 200_000

M = TypeVar("M", bound=BaseModel)

# Pydantic's wording is written for programmers; editors of medical text get these instead.
_FRIENDLY = {
    "missing": "is required but missing",
    "extra_forbidden": "is not a known field (check the spelling; see {see})",
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
        if "nesting depth" in problem:  # libyaml's own bound, before Python's recursion
            return None, [f"{shown}: nested too deeply (more than {MAX_DEPTH} levels)"]
        return None, [f"{shown}:{where}: YAML syntax error: {problem}"]
    except (ValueError, OverflowError) as exc:  # YAML reads 2026-02-30 as a date, and fails
        return None, [f"{shown}: a value cannot be read: {exc} (a date that does not "
                      "exist, like 2026-02-30?)"]
    except RecursionError:  # the parser itself recurses once per nesting level
        return None, [f"{shown}: nested too deeply (more than {MAX_DEPTH} levels)"]
    if not _within_bounds(data):
        return None, [f"{shown}: nested too deeply (more than {MAX_DEPTH} levels) or too "
                      f"large (more than {MAX_NODES} values)"]
    if not isinstance(data, dict):
        return None, [f"{shown}: must be a YAML mapping of fields, not {type(data).__name__}"]
    return data, []


def _within_bounds(data: Any) -> bool:
    """True when data is at most MAX_DEPTH deep and MAX_NODES values, counting each use of
    an alias again (that is how a schema or a hash would walk it). Iterative: never
    recurses, whatever the input."""
    stack, seen = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_NODES:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for pair in value.items() for v in pair)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def validation_problems(shown: str, exc: ValidationError,
                        see: str = "content/README.md") -> list[str]:
    """Turn a pydantic error into one "file:field: message" line per problem; `see` is
    the document that lists the file's fields."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(top)"
        message = _FRIENDLY.get(err["type"], err["msg"]).format(see=see)
        if err["type"] == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        elif err["type"] == "literal_error":
            message = f"must be one of {err['ctx']['expected']}"
        problems.append(f"{shown}:{field}: {message}")
    return problems


def validate(model: type[M], data: Any, shown: str,
             see: str = "content/README.md") -> tuple[M | None, list[str]]:
    """Validate data against a model; return (object, []) or (None, problems)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, validation_problems(shown, exc, see)
    except RecursionError:  # bounded by read_yaml, but data may come from elsewhere
        return None, [f"{shown}: nested too deeply"]
