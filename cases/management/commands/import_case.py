"""`manage.py import_case FILE [--owner EMAIL]`: a new case from a case file.

Prints the new case's id alone on standard output, so scripts can capture it.
"""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.models import Side
from cases.portability import CaseFormatError, import_case_file


class Command(BaseCommand):
    help = "Create a new case from a JSON case file and print its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", help="The case file to import ('-' reads standard input)."
        )
        parser.add_argument(
            "--owner",
            metavar="EMAIL",
            help="The user who becomes the case's facilitator. Without it the case has no members.",
        )
        parser.add_argument(
            "--side",
            choices=Side.values,
            default=Side.SELLER,
            help="The side the owner speaks for (default: seller).",
        )

    def handle(self, *args, file: str, owner: str | None, side: str, **options) -> None:
        user = self._owner(owner) if owner else None
        try:
            if file == "-":
                case = import_case_file(sys.stdin.buffer, user=user, side=side)
            else:
                with open(file, "rb") as stream:
                    case = import_case_file(stream, user=user, side=side)
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from error
        except CaseFormatError as error:
            raise CommandError(str(error)) from error
        if user is None:
            self.stderr.write(
                f"Case {case.pk} has no members, so no one can open it: "
                "import again with --owner EMAIL to make someone its facilitator."
            )
        self.stdout.write(f"{case.pk}")

    def _owner(self, email: str):
        # Emails are not unique in the user model; an ambiguous one is refused
        # rather than handing the case to the wrong person.
        users = list(get_user_model().objects.filter(email__iexact=email)[:2])
        if not users:
            raise CommandError(f"No user with email {email}.")
        if len(users) > 1:
            raise CommandError(f"More than one user has the email {email}.")
        return users[0]
