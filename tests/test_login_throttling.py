"""Password guessing is throttled on the admin and portal logins (django-axes):
after five wrong passwords for a username from one address, that pair is refused
for 15 minutes, even with the right password; other addresses are not."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from metering.tests.factories import PortalUserFactory, UserFactory

# Input handling does not depend on the date: one instant is enough.
pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-06-17T09:30:00+00:00")]

PASSWORD = "pw-for-tests-1"
ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.20"


def _login(client, path, username, password, address):
    client.logout()
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.parametrize(
    ("path", "make_user"),
    [
        ("/admin/login/", lambda: UserFactory(staff=True)),
        ("/portal/login/", lambda: PortalUserFactory().user),
    ],
)
def test_five_wrong_passwords_lock_that_username_and_address(client, path, make_user):
    user = make_user()
    for _ in range(4):
        response = _login(client, path, user.username, "guess", ATTACKER)
        assert response.status_code == 200  # the form again, with its error
    # The fifth failure locks the pair at once...
    assert _login(client, path, user.username, "guess", ATTACKER).status_code == 429
    # ...and then even the right password is refused, without logging in.
    locked = _login(client, path, user.username, PASSWORD, ATTACKER)
    assert locked.status_code == 429
    assert "After 5 wrong passwords for" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    # The same user from another address is not affected.
    assert _login(client, path, user.username, PASSWORD, COLLEAGUE).status_code == 302

    # Fifteen minutes later the pair may try again.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = _login(client, path, user.username, PASSWORD, ATTACKER)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)


def test_a_successful_login_clears_the_count(client):
    user = UserFactory(staff=True)
    for _ in range(4):
        _login(client, "/admin/login/", user.username, "guess", ATTACKER)
    assert (
        _login(client, "/admin/login/", user.username, PASSWORD, ATTACKER).status_code
        == 302
    )

    for _ in range(4):
        response = _login(client, "/admin/login/", user.username, "guess", ATTACKER)
    assert response.status_code == 200
