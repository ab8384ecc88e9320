#!/usr/bin/env python3
"""Django's command-line utility for the django_chat example."""
import os
import sys

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    # siobroker's Python package, when run from the repository (pip install ./clients/python otherwise)
    sys.path.insert(0, os.path.join(here, "..", "..", "clients", "python"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
