"""The bottom layer: the root error class, filesystem helpers and the metrics' definitions
(``service.kernel.metrics``) every other package may use.

The kernel imports nothing else of Casewise.
"""

from service.kernel.errors import CasewiseError

__all__ = ["CasewiseError"]
