"""The rule engine: rule files checked and compiled (to Python by default, or to
durable_rules under ``engine: durable``), then evaluated.

The engine knows nothing of HTTP or storage; ``Registry`` and ``Ruleset.evaluate``
are what the API and the command line call.
"""

from .errors import (
    CasewiseError,
    DecisionError,
    InputError,
    Problem,
    RuleFileError,
    UnknownRuleset,
)
from .loader import load_ruleset
from .model import Decision, FiredRule, Ruleset
from .registry import Registry

__all__ = [
    "CasewiseError",
    "Decision",
    "DecisionError",
    "FiredRule",
    "InputError",
    "Problem",
    "Registry",
    "RuleFileError",
    "Ruleset",
    "UnknownRuleset",
    "load_ruleset",
]
