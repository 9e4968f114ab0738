"""HTTP API: decisions, rulesets, cases and the decision log as JSON (FastAPI routers).

``service.app`` mounts these routers beside the pages of ``service.web``; what both share
(errors, dependencies, responses) is in ``service.http``.
"""
