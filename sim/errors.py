"""The errors paychaos reports to a user: bad input, or an environment it cannot run in.

``PaychaosError`` is the root; ``ConfigError`` (a file or argument is wrong, with file, line, key
and fix), ``SettingError`` (a key-path setting that cannot be applied, before it is placed in a
file) and ``EnvironmentProblem`` (a missing package, a Dask worker without paychaos). The CLI
prints any of them as one paragraph and exits 2, never with a traceback.
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


class SettingError(ConfigError):
    """A key-path setting that cannot be applied (a bad list index, an unknown variant); ``key``
    names it. Callers that know the file and line re-raise it as a placed ConfigError."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, key=key, hint=hint)


class EnvironmentProblem(PaychaosError):
    """paychaos cannot run here (not the input's fault): says what is missing and how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message, self.hint = message, hint
        super().__init__(message + (f" ({hint})" if hint else ""))
