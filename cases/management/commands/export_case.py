"""`manage.py export_case ID [-o FILE]`: a case as a case file (docs/case-format.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.models import Case
from cases.portability import dump_json, export_case


class Command(BaseCommand):
    help = "Write a case as a JSON case file, to standard output or to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case_id", type=int, help="The id of the case to export.")
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help="Write to FILE instead of standard output.",
        )

    def handle(self, *args, case_id: int, output: str | None, **options) -> None:
        case = (
            Case.objects.select_related("client", "seller").filter(pk=case_id).first()
        )
        if case is None:
            raise CommandError(f"No case with id {case_id}.")
        text = dump_json(export_case(case))
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{output}: {error.strerror}") from error
        # Standard output stays for data; the confirmation goes to standard error.
        self.stderr.write(f"Exported case {case.pk} to {output}.")
