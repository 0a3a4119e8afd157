"""Message templates, rendered in Jinja's sandbox: plain values in, text out, nothing else reachable.

The environment has no loader (no include, import or extends can read a file), no globals
(no `range`, `lipsum`, `cycler`…), is immutable (no `.append` on a list), and its variables are
plain strings, numbers and lists of them, so an attribute walk finds no Python object to climb.
A variable the template names and the automation does not provide is an error naming it.
"""

from __future__ import annotations

from functools import lru_cache

MAX_OUTPUT = 4000  # characters: an SMS of 25 segments; longer is a template bug, not a message


class RenderError(ValueError):
    """A message template that cannot be rendered: its syntax, a missing variable, a forbidden reach."""


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, loader=None)
    env.globals.clear()
    return env


@lru_cache(maxsize=256)
def compile_template(source: str):
    """The compiled template; RenderError on a syntax error."""
    from jinja2 import TemplateSyntaxError

    try:
        return _environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise RenderError(f"line {exc.lineno}: {exc.message}") from None


def variables_of(source: str) -> set[str]:
    """The variables a template reads (for `validate`, before anything runs)."""
    from jinja2 import TemplateSyntaxError, meta

    try:
        return set(meta.find_undeclared_variables(_environment().parse(source)))
    except TemplateSyntaxError as exc:
        raise RenderError(f"line {exc.lineno}: {exc.message}") from None


def render(source: str, variables: dict) -> str:
    """The text of a message; RenderError naming what went wrong (never a Python traceback)."""
    from jinja2 import TemplateError, UndefinedError
    from jinja2.exceptions import SecurityError

    template = compile_template(source)
    try:
        text = template.render(**_plain(variables))
    except UndefinedError as exc:
        raise RenderError(f"missing variable: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"not allowed in a message template: {exc}") from None
    except TemplateError as exc:
        raise RenderError(str(exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from None
    text = text.strip()
    if len(text) > MAX_OUTPUT:
        raise RenderError(f"the message is {len(text)} characters; the limit is {MAX_OUTPUT}")
    return text


def _plain(value):
    """Only strings, numbers, booleans, None, and lists and dicts of them reach a template."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
