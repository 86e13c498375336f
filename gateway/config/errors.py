"""The config error, in a module of its own: every feature's config check raises it,
and the loader calls those checks, so the checks must not import the loader."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config problem, with the dotted path of the offending field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem
