"""Print the URI of the Debian archive that this machine's apt uses.

Reads the deb822 files in /etc/apt/sources.list.d/*.sources first, then the
one-line format of /etc/apt/sources.list and sources.list.d/*.list, and
prints the first URI of an enabled `deb` entry whose suites contain the
codename given as the only argument. Exits 1 when none matches.
"""

import glob
import sys


def deb822_entries(path):
    entry = {}
    with open(path, encoding="utf-8") as source:
        for line in source:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if entry:
                    yield entry
                entry = {}
                continue
            if line[0] in " \t" or ":" not in line:
                # A continuation line belongs to the previous field; the
                # fields read here are all single-line.
                continue
            key, value = line.split(":", 1)
            entry[key.strip().lower()] = value.split()
    if entry:
        yield entry


def one_line_entries(path):
    with open(path, encoding="utf-8") as source:
        for line in source:
            words = line.split("#", 1)[0].split()
            if len(words) < 3 or words[0] != "deb":
                continue
            words = words[1:]
            if words[0].startswith("["):
                # Skip options such as [arch=amd64 signed-by=...].
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 2:
                yield {"types": ["deb"], "uris": [words[0]], "suites": [words[1]]}


def find_mirror(codename):
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        entries.extend(deb822_entries(path))
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        try:
            entries.extend(one_line_entries(path))
        except FileNotFoundError:
            continue

    for entry in entries:
        if entry.get("enabled", ["yes"])[0].lower() == "no":
            continue
        if "deb" in entry.get("types", []) and codename in entry.get("suites", []) and entry.get("uris"):
            return entry["uris"][0]
    return None


if __name__ == "__main__":
    mirror = find_mirror(sys.argv[1])
    if mirror is None:
        sys.exit(1)
    print(mirror)
