from pathlib import Path

from setuptools import find_packages, setup


def requirements() -> list[str]:
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="tramontane",
    version="0.1.0",
    description="A workflow service compatible with OpenStack Mistral's Workflow Language v2 and API v2",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["app", "app.*"]),
    py_modules=["celeryconfig"],
    include_package_data=True,
    package_data={"app": ["migrations/*", "migrations/versions/*.py"]},
    install_requires=requirements(),
    extras_require={
        # std.js / std.javascript run scripts in an embedded V8.
        "javascript": ["mini-racer==0.14.1"],
        # Actions written for Mistral against mistral_lib.actions.Action.
        "mistral": ["mistral-lib==3.6.0"],
    },
    entry_points={"console_scripts": ["tramontane=app.cli:main"]},
)
