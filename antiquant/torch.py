"""``antiquant.torch`` is ``antiquant.integrations.torch``, under the name the README has always shown.

Importing it puts that module itself in its place (one module object, so its state is shared).
"""

import importlib
import sys

sys.modules[__name__] = importlib.import_module(".integrations.torch", __package__)
