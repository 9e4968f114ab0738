"""Simulating a candidate rule file against what happened: the decision log (rulesets) and the
experts' decisions on past recommendations (playbooks). The replay itself is pure and lives in
``service.engine.simulate``; this package reads the graph and serves the command and the page.
"""
