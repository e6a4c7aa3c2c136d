"""Self-organizing maps: online and batch training on a rectangular or hexagonal grid.

    SelfOrganizingMap  the estimator (``_som``); its training loops (``_fit``) and
                       MiniSom's methods and checks (``_extras``)

The maths is in ``tfcluster.ops.som``. This package replaces the module
``tfcluster.som`` of the flat layout and exports what it did.
"""

from tfcluster._compat import doctests_of
from tfcluster.som import _som
from tfcluster.som._som import SelfOrganizingMap

__all__ = ["SelfOrganizingMap"]

# doctest.testmod(tfcluster.som) runs the examples of the estimator's module
__test__ = doctests_of(_som)
