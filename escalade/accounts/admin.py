from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from escalade.accounts.models import ApiToken, User


@admin.register(User)
class EscaladeUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "customer", "partner", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Escalade", {"fields": ("role", "customer", "partner", "language")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
