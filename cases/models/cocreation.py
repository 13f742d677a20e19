"""Co-creation: who agreed each stage, what people said beside it, how the case's
status moved, and who was invited in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .case import Case
from .choices import CaseStatus, Role, Side
from .fields import text_field


class StageSignOff(models.Model):
    """One side's agreement to one stage. Client and seller both: the stage is agreed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sign_offs")
    stage = models.CharField(max_length=40)  # a slug of cases.stages.STAGES
    side = models.CharField(max_length=10, choices=Side.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "stage", "side"], name="one_sign_off_per_side_and_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.get_side_display()} by {self.user}"


class Comment(models.Model):
    """A remark beside a stage. Viewers may comment too."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    stage = models.CharField(max_length=40)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    text = text_field(blank=False, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"


class CaseStatusChange(models.Model):
    """One move of the case's status (draft -> in review -> agreed -> archived)."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=CaseStatus.choices)
    to_status = models.CharField(max_length=20, choices=CaseStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    note = text_field(max_length=1000)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case}: {self.from_status} -> {self.to_status}"


def _default_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


class Invitation(models.Model):
    """An invitation by email into one case with a side and a role. Its link
    works once, until it expires, and only for this case. Only a hash of the
    token is stored: a database leak does not leak working links."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    side = models.CharField(max_length=10, choices=Side.choices)
    role = models.CharField(max_length=12, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_default_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.case} ({self.get_side_display()}, {self.get_role_display()})"

    @staticmethod
    def new_token() -> tuple[str, str]:
        """A fresh token and its hash: the token goes in the email, the hash here."""
        token = secrets.token_urlsafe(32)
        return token, Invitation.hash_token(token)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.withdrawn_at is None
            and self.expires_at > timezone.now()
        )
