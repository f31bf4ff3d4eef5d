"""``python -m do_stand_in serve ...`` (see ``do_stand_in.cli``)."""

import sys

from do_stand_in.cli import main

sys.exit(main())
