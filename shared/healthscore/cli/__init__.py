"""`healthscore`: validate, score and explain health scores over a portable dataset.

Exit codes: 0 success, 1 the command ran but found nothing to show (a record out of scope),
2 bad input (an invalid definition, an unknown segment, a bad dataset row, a bad option).
Data goes to stdout; messages and errors go to stderr, except for `validate`, whose verdict is
its output.
"""

# Each command module registers its commands on `app`, in the order `--help` lists them.
from healthscore.cli import scoring  # noqa: F401  # isort: skip
from healthscore.cli import analytics  # noqa: F401  # isort: skip
from healthscore.cli import backtest  # noqa: F401  # isort: skip
from healthscore.cli import local  # noqa: F401  # isort: skip
from healthscore.cli import remote  # noqa: F401  # isort: skip
from healthscore.cli import jobs  # noqa: F401  # isort: skip
from healthscore.cli import exports  # noqa: F401  # isort: skip
from healthscore.cli import hubspot  # noqa: F401  # isort: skip
from healthscore.cli import upgrade  # noqa: F401  # isort: skip
from healthscore.cli.common import app  # isort: skip

__all__ = ["app"]
