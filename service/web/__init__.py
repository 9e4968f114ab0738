"""Server-rendered pages for experts and rule authors: routes, Jinja2 templates and static files.

The template environment (``service.http.templating``) and the error page are shared with the
JSON API through ``service.http``; ``service.web`` never imports ``service.api``.
"""
