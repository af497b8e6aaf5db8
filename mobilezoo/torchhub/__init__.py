"""torch.hub entry points that ship with the installed package.

``torch.hub.load(mobilezoo.torchhub.DIR, "fbnetv2_f1", source="local")`` works from any folder without a checkout:
this folder holds nothing but ``hubconf.py`` (torch.hub puts the folder on ``sys.path`` while it imports it, so a
module here could shadow the standard library). The repository's own ``hubconf.py`` re-exports the same entries.
"""

import os

#: the folder to pass to ``torch.hub.load(..., source="local")``
DIR = os.path.dirname(os.path.abspath(__file__))
