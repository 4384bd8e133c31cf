"""camvault's web service: the REST API and the dashboard (``camvault serve``)."""

from camvault.web.app import create_app

__all__ = ["create_app"]
