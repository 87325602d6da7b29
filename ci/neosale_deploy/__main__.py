"""`python -m neosale_deploy`."""

from __future__ import annotations

import sys

from neosale_deploy.cli import main

if __name__ == "__main__":
    sys.exit(main())
