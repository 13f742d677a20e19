"""Case files: a whole case as one JSON document, out and back in.

The format is specified in docs/case-format.md. Export writes it; import reads it,
all or nothing, holding every value to the same model rules as the browser forms
and naming the path of the first bad value: `stages.benefits[2].yearly[0].low: ...`.

- `spec`: the format: constants, field kinds, `ITEM_SPECS` per stage, the errors.
- `exporter`: `export_case()` and `dump_json()`.
- `reading`: reading and parsing an upload, and checking and coercing raw values.
- `importer`: `import_case()` and `import_case_file()`.
"""

from .exporter import dump_json, export_case
from .importer import import_case, import_case_file
from .reading import read_case_file
from .spec import CASE_FIELDS, FORMAT, ITEM_SPECS, VERSION, CaseFormatError

__all__ = [
    "CASE_FIELDS",
    "FORMAT",
    "ITEM_SPECS",
    "VERSION",
    "CaseFormatError",
    "dump_json",
    "export_case",
    "import_case",
    "import_case_file",
    "read_case_file",
]
