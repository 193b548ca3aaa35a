"""``python -m neuralogic_py`` is the ``nlp`` command."""

import sys

from .cli import main

sys.exit(main())
