"""Refuse a plugin name that would not make a valid distribution, package and entry point."""

import re
import sys

NAME = "{{ cookiecutter.plugin_name }}"

if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", NAME):
    sys.exit(
        f"plugin_name {NAME!r}: use lowercase letters, digits and single '-' between words, "
        "starting with a letter (e.g. 'keywords' or 'acme-llm')"
    )
