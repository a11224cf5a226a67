"""`python -m simgan ...` (also how torchrun starts it: torchrun -m simgan train ...)."""

from simgan.cli import main

raise SystemExit(main())
