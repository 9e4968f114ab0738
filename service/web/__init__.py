"""Server-rendered pages for experts and rule authors: Jinja2 templates and static files.

``pages`` holds the routes; ``templating`` the one template environment, which the error
handler in ``service.api.errors`` also uses to render errors as HTML for browsers.
"""
