"""Packaging for saleor-optty.

Django and Saleor are deliberately absent from ``install_requires``: the plugin runs
inside a Saleor environment that already pins both, and Saleor 3.x is not on PyPI.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
about: dict = {}
exec((HERE / "saleor_optty" / "__version__.py").read_text(), about)

#: The Saleor App (``saleor-optty[app]``): a service of its own, so it brings its own
#: framework, server and database drivers; none of them reaches the plugin's install.
APP_REQUIRES = [
    "Django>=4.2,<6",
    "PyJWT[crypto]>=2.8,<3",  # Saleor's webhook signatures (detached JWS) and Dashboard tokens
    "dj-database-url>=2.1,<4",
    "gunicorn>=22",
    "psycopg[binary]>=3.1",
    "redis>=5",  # Django's Redis cache, and Celery's broker
    "celery>=5.3,<6",
]

TEST_REQUIRES = [
    *APP_REQUIRES,
    # Validates the README's GraphQL documents against Saleor's schemas (tests/schema/).
    "graphql-core>=3.2,<3.4",
    "hypothesis>=6.100",
    # Drives Debian's Chromium (/usr/bin/chromium) in tests/unit/test_browser.py; its own
    # browser downloads are never used.
    "playwright>=1.40",
    # Checks the App's webhook answers against Saleor's own JSON schemas, where Saleor's
    # source is at hand (tests/app).
    "jsonschema>=4.20",
    # Reads the manifest's requiredSaleorVersion as Saleor does (NpmSpec), in tests/app.
    "semantic_version>=2.10,<3",
    "pytest>=8",
    "pytest-django>=4.8",
    # Builds the wheel that tests/app/test_packaging.py installs, without a download.
    "setuptools>=77",
]

REPOSITORY = "https://github.com/saleor-optty/saleor-optty"

setup(
    name="saleor-optty",
    version=about["__version__"],
    description="Optty buy-now-pay-later payments for Saleor: one plugin for Klarna, Afterpay, Zip and more.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author="saleor-optty contributors",
    url=REPOSITORY,
    # An SPDX expression (core metadata 2.4, setuptools 77+); it replaces the deprecated
    # licence classifier, which current setuptools warns about.
    license_expression="BSD-3-Clause",
    keywords="saleor optty payments buy-now-pay-later bnpl klarna afterpay zip plugin",
    packages=find_packages(exclude=("tests", "tests.*", "bench", "bench.*")),
    include_package_data=True,
    package_data={"saleor_optty": ["py.typed"]},
    python_requires=">=3.11",
    install_requires=[
        # Saleor pins requests 2.32 (3.20) and 2.34 (3.23) and urllib3 1.26 / 2.x;
        # a floor only, so pip never fights the host's pins.
        "requests>=2.28,<3",
    ],
    extras_require={"app": APP_REQUIRES, "test": TEST_REQUIRES},
    entry_points={
        # The entry point's *name* is appended to Saleor's INSTALLED_APPS, so it must be
        # the importable Django app package (whose label stays "saleor_optty").
        "saleor.plugins": ["saleor_optty.plugin = saleor_optty.plugin.gateway:OpttyGatewayPlugin"],
        "console_scripts": [
            "optty-emulator = saleor_optty.emulator.__main__:main",
            "optty-check = saleor_optty.diagnostics:main",
            "saleor-optty-app = saleor_optty.app.cli:main",
        ],
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Office/Business :: Financial",
        "Topic :: Internet :: WWW/HTTP :: Dynamic Content",
        "Typing :: Typed",
    ],
    project_urls={
        "Source": REPOSITORY,
        "Issues": f"{REPOSITORY}/issues",
        "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
    },
)
