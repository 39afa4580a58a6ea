import sys

from kimaisync.cli import main

sys.exit(main())
