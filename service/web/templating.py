"""The one template environment of the pages (autoescape on) and the context every page gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    """Give the context of a page: what every page needs, then the page's own values.

    The one place to add what all pages share: the signed-in user (``current_user``) and
    their roles come here when sign-in does.
    """
    return {"request": request, "nav": request.url.path, **values}


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Give the HTML response of ``template`` filled with the page context."""
    html = environment.get_template(template).render(context(request, values))
    return HTMLResponse(html, status_code=status)
