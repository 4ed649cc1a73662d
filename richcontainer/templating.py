"""Rendering the jinja2 files in templates/ (units written into a guest, host service units)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render(name: str, **values: object) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                             autoescape=False)
    return env.get_template(name).render(**values)
