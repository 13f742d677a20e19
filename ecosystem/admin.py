from django.contrib import admin

from .models import Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "parent__name"]
    autocomplete_fields = ["parent"]
