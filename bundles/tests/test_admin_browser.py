"""The bundle template form's preview of unsaved settings, in a real browser."""

import pytest

from bundles.models import BundleTemplate
from metering.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_template_form_previews_unsaved_settings_in_a_new_tab(
    live_server, page, organization, catalogue, image_customer, export_customer
):
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/admin/bundles/bundletemplate/add/")
    page.select_option("#id_organization", str(organization.pk))
    page.fill("#id_name", "Image Trial")
    page.fill("#id_discount_percent", "20")
    page.fill("#id_target_tags", '[{"name": "heavy:image.*", "weight": 1}]')
    page.fill("#id_operations-0-operation", "image.resize")
    page.fill("#id_operations-0-included_quantity", "1000")
    with page.context.expect_page() as opened:
        page.click("#preview-unsaved")
    preview = opened.value
    preview.wait_for_selector("#preview-summary")

    assert "nothing has been saved" in " ".join(preview.inner_text("main").split())
    assert "1 of 2 profiled customers" in preview.inner_text("#preview-summary")
    assert "Pixel Works" in preview.inner_text("#preview-rows")
    # The form is still there, filled in, and nothing was stored.
    assert page.input_value("#id_name") == "Image Trial"
    assert not BundleTemplate.objects.filter(name="Image Trial").exists()
