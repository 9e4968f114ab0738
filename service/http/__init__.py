"""What the JSON API and the pages share: the one error handler (JSON or page), the JSON
response and security headers, the request dependencies, and the template environment; and what
every request goes through: its id, metrics and log line (``requestlog``, ``tally``, ``metrics``),
admission control (``admission``), and the readiness checks (``readiness``).

``service.api`` and ``service.web`` both build on this package and never import each other.
"""
