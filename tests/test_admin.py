"""Support staff can reach every model of the product in the Django admin."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

PRODUCT_MODELS = [
    model
    for label in ("cases", "ecosystem")
    for model in apps.get_app_config(label).get_models()
    if not model.__name__.startswith("Historical")
]


@pytest.mark.parametrize("model", PRODUCT_MODELS, ids=lambda m: m.__name__)
def test_every_model_is_in_the_admin(model):
    assert model in admin.site._registry


@pytest.mark.django_db
@pytest.mark.parametrize("model", PRODUCT_MODELS, ids=lambda m: m.__name__)
def test_admin_list_page_opens(client, model):
    staff = get_user_model().objects.create_superuser(
        "admin@example.com", "admin@example.com", "x"
    )
    client.force_login(staff)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200
