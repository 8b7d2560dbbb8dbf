"""``python -m saleor_optty.emulator``; ``main`` is also the console-script target."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
