"""Packaging for saleor-optty.

Django and Saleor are deliberately absent from ``install_requires``: the plugin runs
inside a Saleor environment that already pins both, and Saleor 3.x is not on PyPI.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
about: dict = {}
exec((HERE / "saleor_optty" / "__version__.py").read_text(), about)

TEST_REQUIRES = [
    "Django>=4.2,<6",
    "hypothesis>=6.100",
    "psycopg[binary]>=3.1",
    "pytest>=8",
    "pytest-django>=4.8",
]

setup(
    name="saleor-optty",
    version=about["__version__"],
    description="Optty buy-now-pay-later payments for Saleor: one plugin for Klarna, Afterpay, Zip and more.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(exclude=("tests", "tests.*", "bench", "bench.*")),
    include_package_data=True,
    package_data={"saleor_optty": ["emulator/static/*", "py.typed"]},
    python_requires=">=3.11",
    install_requires=[
        # Saleor pins requests 2.32 (3.20) and 2.34 (3.23) and urllib3 1.26 / 2.x;
        # a floor only, so pip never fights the host's pins.
        "requests>=2.28,<3",
    ],
    extras_require={"test": TEST_REQUIRES},
    entry_points={
        # The entry point's *name* is appended to Saleor's INSTALLED_APPS, so it must be
        # the importable Django app package.
        "saleor.plugins": ["saleor_optty = saleor_optty.plugin:OpttyGatewayPlugin"],
        "console_scripts": [
            "optty-emulator = saleor_optty.emulator.__main__:main",
        ],
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: BSD License",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Office/Business :: Financial :: Point-Of-Sale",
        "Typing :: Typed",
    ],
    project_urls={
        "Changelog": "https://github.com/saleor-optty/saleor-optty/blob/main/CHANGELOG.md",
    },
)
