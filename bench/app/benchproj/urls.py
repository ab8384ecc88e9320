from django.urls import include, path

urlpatterns = [path("socket.io-app/", include("siobroker.django.urls"))]
