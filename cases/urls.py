from django.urls import path

from . import views

app_name = "cases"

case = "cases/<int:case_id>/"
stage = case + "stages/<slug:stage_slug>/"
item = stage + "items/<int:item_id>/"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("cases/new/", views.case_new, name="new"),
    path("cases/import/", views.case_import, name="import"),
    path("profile/", views.profile, name="profile"),
    path(case, views.overview, name="overview"),
    path(case + "settings/", views.case_settings, name="settings"),
    path(case + "export.json", views.case_export, name="export"),
    path(case + "activity/", views.activity_page, name="activity"),
    path(case + "members/", views.members, name="members"),
    path(
        case + "members/<int:membership_id>/", views.member_update, name="member_update"
    ),
    path(
        case + "members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(case + "invitations/", views.invite, name="invite"),
    path(
        case + "invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        case + "invitations/<int:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    # Public: the emailed link. The token alone names the case.
    path("invitations/<str:token>/", views.invitation_accept, name="invitation"),
    path(case + "numbers/", views.numbers, name="numbers"),
    path(case + "summary.json", views.summary_json, name="summary_json"),
    path(case + "decision/", views.decision, name="decision"),
    path(case + "decision/ratings/", views.decision_ratings, name="decision_ratings"),
    path(
        case + "decision/recommendation/",
        views.decision_recommendation,
        name="decision_recommendation",
    ),
    path(case + "exports/", views.exports_page, name="exports"),
    path(case + "exports/<int:export_id>/", views.export_status, name="export_status"),
    path(
        case + "exports/<int:export_id>/download/",
        views.export_download,
        name="export_download",
    ),
    path(stage, views.stage_page, name="stage"),
    path(stage + "changes/", views.stage_changes, name="stage_changes"),
    path(case + "present/<slug:stage_slug>/", views.presenter, name="presenter"),
    path(stage + "items/", views.item_create, name="item_create"),
    path(stage + "notes/", views.stage_notes, name="stage_notes"),
    path(stage + "sign-off/", views.stage_sign_off, name="stage_sign_off"),
    path(
        stage + "sign-off/withdraw/",
        views.stage_sign_off_withdraw,
        name="stage_sign_off_withdraw",
    ),
    path(stage + "comments/", views.stage_comments, name="stage_comments"),
    path(case + "status/", views.case_status, name="case_status"),
    path(item, views.item_detail, name="item_detail"),
    path(item + "edit/", views.item_edit, name="item_edit"),
    path(item + "delete/", views.item_delete, name="item_delete"),
]
