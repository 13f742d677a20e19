"""Views of the case, by page: the case and its people (`cases`), the stage pages
(`stages`), the executive PDF (`exports`), the numbers and the decision
(`decision`); and the person's own name (`profile`). Each view starts with the
access helper, validates with a form, writes through a service, and answers htmx
with a partial of the same template."""

from .activity import activity_page
from .agreement import (
    case_status,
    stage_comments,
    stage_sign_off,
    stage_sign_off_withdraw,
)
from .cases import (
    case_export,
    case_import,
    case_new,
    case_settings,
    dashboard,
    healthz,
    member_remove,
    member_update,
    members,
    overview,
)
from .decision import (
    decision,
    decision_ratings,
    decision_recommendation,
    numbers,
    summary_json,
)
from .exports import export_download, export_status, exports_page
from .invitations import (
    invitation_accept,
    invitation_resend,
    invitation_withdraw,
    invite,
)
from .presenter import presenter, stage_changes
from .profile import profile
from .stages import (
    item_create,
    item_delete,
    item_detail,
    item_edit,
    stage_notes,
    stage_page,
)

__all__ = [
    "activity_page",
    "case_export",
    "case_import",
    "case_new",
    "case_settings",
    "case_status",
    "dashboard",
    "decision",
    "decision_ratings",
    "decision_recommendation",
    "export_download",
    "export_status",
    "exports_page",
    "healthz",
    "invitation_accept",
    "invitation_resend",
    "invitation_withdraw",
    "invite",
    "item_create",
    "item_delete",
    "item_detail",
    "item_edit",
    "member_remove",
    "member_update",
    "members",
    "numbers",
    "overview",
    "presenter",
    "profile",
    "stage_changes",
    "stage_comments",
    "stage_notes",
    "stage_page",
    "stage_sign_off",
    "stage_sign_off_withdraw",
    "summary_json",
]
