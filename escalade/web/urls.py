from django.contrib.auth import views as auth_views
from django.urls import path

from escalade.web import ack, language, mail_confirm, views

urlpatterns = [
    path("", views.home, name="home"),
    path("portail/", views.portal, name="portal"),
    path("portail/incidents/<str:number>/", views.portal_incident, name="portal_incident"),
    path("portail/incidents/<str:number>/escalader/", views.escalate, name="escalate"),
    path("portail/incidents/<str:number>/maintenant/", views.portal_incident_live, name="portal_incident_live"),
    path("escalades/<int:escalation_id>/", views.escalation, name="escalation"),
    path("escalades/<int:escalation_id>/prise-en-compte/", views.acknowledge, name="acknowledge"),
    path("incidents/<str:number>/", views.incident, name="incident"),
    path("incidents/<str:number>/dossier/", views.incident_record_page, name="incident_record"),
    path("incidents/<str:number>/evenement/", views.incident_event, name="incident_event"),
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("tableau-de-bord/escalades/", views.dashboard_feed, name="dashboard_feed"),
    path("tableau-de-bord/incidents/", views.dashboard_incidents, name="dashboard_incidents"),
    path("tableau-de-bord/telephone/", views.phone_escalation, name="phone_escalation"),
    # The signed one-click link of an escalation e-mail (see web/ack.py).
    path("ack/<str:token>/", ack.acknowledge, name="ack"),
    # The signed link confirming a request received by e-mail from an unverified sender (web/mail_confirm.py).
    path("mail/confirmer/<str:token>/", mail_confirm.confirm_request, name="mail_confirm"),
    path("procedure/", views.procedure, name="procedure"),
    path("rapports/", views.report_page, name="reports"),
    path("rapports.csv", views.report_csv, name="reports_csv"),
    path("connexion/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("mot-de-passe/modifie/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("langue/setlang/", language.set_language, name="set_language"),
]
