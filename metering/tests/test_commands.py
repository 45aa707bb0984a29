from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from metering.models import ApiKey
from metering.services import api_key_hash

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_a_working_key_once(organization):
    out = StringIO()
    call_command("create_api_key", organization.slug, "--name", "ci", stdout=out,
                 stderr=StringIO())  # fmt: skip
    raw_key = out.getvalue().strip()
    api_key = ApiKey.objects.get(organization=organization)
    assert raw_key.startswith("bk_")
    assert api_key.hashed_key == api_key_hash(raw_key)
    assert raw_key not in {api_key.prefix, api_key.hashed_key}
    assert api_key.name == "ci"


def test_create_api_key_for_unknown_organization():
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        call_command("create_api_key", "nope", stdout=StringIO())
