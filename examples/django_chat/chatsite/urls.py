from django.contrib.auth import views as auth_views
from django.urls import include, path

from chat import views

urlpatterns = [
    path("", views.index, name="chat"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The siobroker nodes POST the /chat namespace's calls here (--app-url .../socket.io-app/).
    path("socket.io-app/", include("siobroker.django.urls")),
]
