"""`manage.py render_pdf <case id> -o file.pdf [--paper letter]`: the executive PDF
rendered synchronously, through the worker's code."""

from __future__ import annotations

import io

import pypdf
import pytest
from django.core.management import CommandError, call_command

from ..factories import CaseFactory, ChangeItemFactory, InvestmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    case = CaseFactory(title="Direct-to-site delivery")
    ChangeItemFactory(case=case, title="Plan routes per site")
    InvestmentFactory(case=case, title="Routing platform")
    return case


def run(*args) -> str:
    err = io.StringIO()
    call_command("render_pdf", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_writes_the_cases_pdf_to_the_file(case, tmp_path):
    target = tmp_path / "x.pdf"

    message = run(case.pk, "-o", str(target))

    reader = pypdf.PdfReader(target)
    assert reader.metadata["/Title"] == "Direct-to-site delivery"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Plan routes per site" in text
    assert "Routing platform" in text
    assert f"{len(reader.pages)} pages" in message
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_paper_letter_gives_letter_pages(case, tmp_path):
    target = tmp_path / "x.pdf"

    run(case.pk, "-o", str(target), "--paper", "letter")

    reader = pypdf.PdfReader(target)
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_an_unknown_case_is_an_error_and_writes_nothing(case, tmp_path):
    target = tmp_path / "x.pdf"

    with pytest.raises(CommandError, match=f"No case with id {case.pk + 1000}"):
        run(case.pk + 1000, "-o", str(target))

    assert not target.exists()


def test_an_unknown_paper_size_is_an_error(case, tmp_path):
    target = tmp_path / "x.pdf"

    with pytest.raises(CommandError, match="invalid choice"):
        run(case.pk, "-o", str(target), "--paper", "A3")

    assert not target.exists()
