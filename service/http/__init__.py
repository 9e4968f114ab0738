"""What the JSON API and the pages share: the one error handler (JSON or page), the JSON
response and security headers, the request dependencies, and the template environment.

``service.api`` and ``service.web`` both build on this package and never import each other.
"""
