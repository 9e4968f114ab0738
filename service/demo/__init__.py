"""Demo seeding: synthetic cases (``cases``, from ``people``, ``history`` and ``words``), a demo
history of decisions (``decisions``) and ``casewise demo load`` (``commands``).

Only the composition root (``service.cli``), tests and benchmarks import this package.
"""
