"""``path("socket.io-app/", include("siobroker.django.urls"))``: where the nodes' ``--app-url``
points (``http://django-host:port/socket.io-app/``)."""

from django.urls import path

from .views import dispatch

app_name = "siobroker"

urlpatterns = [
    path("", dispatch, name="dispatch"),
]
