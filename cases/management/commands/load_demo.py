"""`manage.py load_demo [--reset]`: the demo case, its people and their logins."""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from cases.demo import load_demo


class Command(BaseCommand):
    help = (
        "Load the demo business case (Harbour Building Supplies x Northwind) and its "
        "three demo users. Running it again changes nothing; --reset rebuilds it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo case (and only it) and build it again.",
        )

    def handle(self, *args, reset: bool = False, **options) -> None:
        load_demo(reset=reset, stdout=self.stdout)
