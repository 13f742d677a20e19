from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Business cases"

    def ready(self) -> None:
        from . import revision

        revision.connect()
