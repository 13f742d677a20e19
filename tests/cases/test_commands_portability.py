"""The export_case and import_case management commands."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from cases.models import Case, Membership
from cases.portability import export_case
from tests.factories import CaseFactory, ChangeItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def case(db):
    case = CaseFactory(title="Direct-to-site delivery")
    ChangeItemFactory(case=case, title="Plan routes per site")
    return case


def test_export_writes_the_case_file_to_stdout(case):
    out, _ = run("export_case", str(case.pk))

    assert json.loads(out) == export_case(case)
    assert json.loads(out)["stages"]["changes"][0]["title"] == "Plan routes per site"


def test_export_writes_to_a_file_with_o(case, tmp_path):
    target = tmp_path / "case.json"

    out, err = run("export_case", str(case.pk), "-o", str(target))

    assert json.loads(target.read_text(encoding="utf-8")) == export_case(case)
    assert out == ""
    assert str(target) in err


def test_export_of_an_unknown_id_fails_clearly(db):
    with pytest.raises(CommandError, match="No case with id 999"):
        run("export_case", "999")


def test_import_prints_the_new_cases_id(case, tmp_path):
    source = tmp_path / "case.json"
    run("export_case", str(case.pk), "-o", str(source))

    out, err = run("import_case", str(source))

    new = Case.objects.get(pk=int(out.strip()))
    assert new.pk != case.pk
    assert new.title == "Direct-to-site delivery"
    assert not Membership.objects.filter(case=new).exists()
    assert "no members" in err


def test_import_with_owner_makes_them_facilitator(case, tmp_path):
    owner = UserFactory(email="owner@seller.example")
    source = tmp_path / "case.json"
    run("export_case", str(case.pk), "-o", str(source))

    out, err = run("import_case", str(source), "--owner", "Owner@Seller.example")

    membership = Membership.objects.get(case_id=int(out.strip()))
    assert (membership.user, membership.role, membership.side) == (
        owner,
        "facilitator",
        "seller",
    )
    assert err == ""


def test_import_with_an_unknown_owner_saves_nothing(case, tmp_path):
    source = tmp_path / "case.json"
    run("export_case", str(case.pk), "-o", str(source))

    with pytest.raises(CommandError, match=r"No user with email nobody@example\.com"):
        run("import_case", str(source), "--owner", "nobody@example.com")

    assert Case.objects.count() == 1


def test_import_of_a_bad_file_fails_with_the_path_and_saves_nothing(case, tmp_path):
    source = tmp_path / "case.json"
    run("export_case", str(case.pk), "-o", str(source))
    document = json.loads(source.read_text())
    document["stages"]["changes"][0]["leg"] = "finance"
    source.write_text(json.dumps(document))

    with pytest.raises(CommandError) as caught:
        run("import_case", str(source))

    assert str(caught.value).startswith("stages.changes[0].leg: ")
    assert Case.objects.count() == 1


def test_import_of_invalid_json_names_line_and_column(db, tmp_path):
    source = tmp_path / "case.json"
    source.write_text('{\n  "format": "nine-stage-business-case",\n  oops\n}')

    with pytest.raises(
        CommandError, match=r"^file: is not valid JSON: .* line 3, column 3"
    ):
        run("import_case", str(source))


def test_import_of_a_missing_file_fails_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_case", str(tmp_path / "missing.json"))
