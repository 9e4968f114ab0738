"""Recommended next actions for a case: playbooks over the case graph, learned from experts.

``catalogue`` (the actions there are), ``facts`` (a playbook's queries run for a case),
``playbooks`` (the loaded playbooks), ``scoring`` (weights adjusted by expert decisions),
``recommend`` (the ranked recommendations of a case) and ``feedback`` (experts accepting or
overriding them) are the recommender; ``similar``, ``nextaction`` and ``mining`` learn from
closed cases, event logs and overrides.
"""
