"""Render a case's executive PDF synchronously, through the same code the worker
runs: `python manage.py render_pdf <case id> -o case.pdf [--paper letter]`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.models import Case, PaperSize


class Command(BaseCommand):
    help = "Render a case's executive PDF to a file (synchronously, without a worker)."

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)
        parser.add_argument(
            "-o", "--output", required=True, help="Where to write the PDF."
        )
        parser.add_argument("--paper", choices=PaperSize.values, default=PaperSize.A4)

    def handle(self, *args, case_id: int, output: str, paper: str, **options):
        from cases import pdf  # weasyprint loads only for this command

        case = (
            Case.objects.select_related("client", "seller").filter(pk=case_id).first()
        )
        if case is None:
            raise CommandError(f"No case with id {case_id}.")
        rendered = pdf.render_pdf(case, paper_size=paper)
        Path(output).write_bytes(rendered.content)
        self.stderr.write(
            f"Wrote {output}: {rendered.pages} pages, {len(rendered.content):,} bytes."
        )
