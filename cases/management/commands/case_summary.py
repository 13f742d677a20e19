"""Print a case's figures as JSON, the same document as /cases/<id>/summary.json."""

import json

from django.core.management.base import BaseCommand, CommandError

from cases import summary
from cases.models import Case


class Command(BaseCommand):
    help = "Print a case's figures (NPV, payback, ROI, break-even, health...) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)

    def handle(self, *args, case_id: int, **options):
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            raise CommandError(f"No case with id {case_id}.")
        self.stdout.write(json.dumps(summary.build(case), indent=2, ensure_ascii=False))
