from django.urls import include, path

from djproj.testapp import views

urlpatterns = [
    path("socket.io-app/", include("siobroker.django.urls")),
    path("health/", views.health),
    path("login/", views.login_as),
    path("emit/", views.emit_outside),
]
