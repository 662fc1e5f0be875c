import sys

from escalade.cli import main

sys.exit(main())
