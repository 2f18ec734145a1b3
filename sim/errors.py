"""The one exception type for user errors: bad scenario or model files, bad arguments.

The CLI prints it as a paragraph and exits 2, never with a traceback.
"""

from __future__ import annotations


class PaychaosError(Exception):
    """Base class of every error paychaos reports to a user."""


class ConfigError(PaychaosError):
    """A scenario, model or sweep file is wrong: says where, what, and what would be right."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        hint: str | None = None,
        also: list[str] | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.hint = hint
        self.also = list(also or [])
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.key:
            text += f"{self.key}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        if self.also:
            text += ". Also: " + "; ".join(self.also)
        return text
