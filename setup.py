"""Map the top-level source folders into the `archon` import namespace.

pyproject.toml cannot compute a package list, and each folder's
sub-packages must be listed under their `archon.*` names.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "archon.runtime": "runtime",
    "archon.engine": "engine",
    "archon.lsp": "lsp",
    "archon.cli": "cli",
}

packages = []
for name, folder in FOLDERS.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=FOLDERS)
