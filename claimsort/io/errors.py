"""The one error type of claimsort: bad input, a bad config or a damaged model
folder. The message names the file (and line, where there is one), so that every
entry point can print it as one line and exit 2 (claimsort.cli.fail_cleanly)."""
from __future__ import annotations

from dataclasses import dataclass


class InputError(ValueError):
    """Bad input, config or model folder; the message names the file and line."""


@dataclass
class Issue:
    """A bad input that was skipped (predict.py): reported, counted, fatal only with --strict."""
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}" if self.line else f"{self.source}: {self.message}"


def report(error: InputError, issues: list[Issue], strict: bool) -> None:
    """Record a bad input in `issues` (its file and line parsed from the message), or,
    with strict, raise it."""
    if strict:
        raise error
    text = str(error)
    source, _, rest = text.partition(": ")
    src, _, line = source.rpartition(":")
    if line.isdigit():
        issues.append(Issue(src, int(line), rest))
    else:
        issues.append(Issue(source, None, rest))
