"""Errors a user can cause, each with a one-line message that names what to fix.

The library never imports Click; cli.py turns a HandoutError into a one-line message on
stderr and the exit code below. Anything that is not a HandoutError is a bug.
"""

from __future__ import annotations


class HandoutError(Exception):
    """Raised when a user mistake or bad input stops a build."""

    exit_code = 1


class ChoiceError(HandoutError):
    """Raised when a handout kind, drug, paper size or profile is not one we know."""

    exit_code = 2

    def __init__(self, what: str, given: str, choices: list[str]):
        self.what, self.given, self.choices = what, given, choices
        super().__init__(f"unknown {what} {given!r}; choose from: {', '.join(choices)}")


class OptionError(HandoutError):
    """Raised when an option's value is malformed (a bad date, a conflicting flag)."""

    exit_code = 2


class ContentError(HandoutError):
    """Raised when a content file is missing, unreadable or breaks its schema.

    `problems` holds every problem found, each as "file:field: message", so an editor
    sees them all at once instead of fixing one per run.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class ClinicError(HandoutError):
    """Raised when the clinic file is missing, malformed or names a logo we cannot use."""


class OutputError(HandoutError):
    """Raised when the output file cannot be written (missing or read-only folder)."""


class RenderError(HandoutError):
    """Raised when a template cannot be rendered (a missing or broken override template)."""


class ServeError(HandoutError):
    """Raised when the server cannot listen on its address (port in use, unknown host)."""
