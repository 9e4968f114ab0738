"""The bottom layer: the root error class and filesystem helpers every other package may use.

The kernel imports nothing else of Casewise.
"""

from service.kernel.errors import CasewiseError

__all__ = ["CasewiseError"]
