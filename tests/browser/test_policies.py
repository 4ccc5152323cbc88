"""The policy page's run button in a real browser: the run is queued as a job, the job page
follows its progress until done (HTMX polling), and its link leads back to the overview
with the new runs' verdict counts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_run_button_queues_a_job_whose_page_follows_it_to_the_counts(page, live):
    log_in(page, live)
    page.goto(f"{live.url}/policies")
    page.fill("[data-testid=run-form] input[name=as_of]", "2024-03-01")
    page.click("[data-testid=run-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    # the in-process worker runs it; the progress block polls until the job is done
    expect(page.locator("[data-testid=job-progress]")).to_have_attribute(
        "data-status", "done", timeout=60_000)
    page.click("[data-testid=job-result-link]")
    page.wait_for_url(re.compile(r".*/policies\?done=\d+$"))
    expect(page.locator("[data-testid=run-done]")).to_be_visible()
    tech = page.locator("tr[data-policy=tech_sme] [data-testid=counts] [data-verdict]")
    expect(tech.first).to_be_visible()  # the county's enterprises now have verdicts
