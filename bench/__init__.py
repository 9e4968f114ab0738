"""Benchmarks for Casewise: `python -m bench.run` (or `make bench`).

One run measures, on the same inputs, Casewise's in-process decisions per second
against the same decisions written as plain Python (the ceiling), as a GoRules
zen-engine decision graph and as CLIPS rules (clipspy); HTTP decisions per second
against a bare FastAPI endpoint under the same uvicorn settings; and the resident
memory growth over one million decisions.

The comparison implementations are not written by hand per ruleset: ``model`` reads
a rule file on its own (independently of ``service.engine``) and ``plain``,
``zen_graph`` and ``clips_rules`` translate it. Before anything is timed the bench
checks that every implementation gives Casewise's outputs for every input used.
"""
