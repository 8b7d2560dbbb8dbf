"""``python -m saleor_optty.demo``."""

from .walkthrough import main

if __name__ == "__main__":
    raise SystemExit(main())
