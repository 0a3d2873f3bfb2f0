"""`poq dashboard` end to end: anvil, a Devnet deployment, the server, and a real headless Chromium.

The browser is Debian's chromium driven by selenium through chromium-driver (scripts/bootstrap.sh
installs both). Without them the browser test skips locally and fails under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from offchain.protocol import Params
from offchain.protocol.display import eth_rounded

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

CHROMIUM = os.environ.get("POQ_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("POQ_CHROMEDRIVER", "/usr/bin/chromedriver")
# ../shared/ENV.md: what headless Chromium needs on a closed network, plus no shared-memory limits
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1800")
WAIT_S = 20.0  # the page polls every second; a settlement must show within a few polls


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium under selenium; skipped without one locally, a failure under CI."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (shutil.which(p) or Path(p).is_file())]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"no browser for the dashboard test: {', '.join(missing)} missing (scripts/bootstrap.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Deployed:
    net: Any  # deploy.devnet.Devnet
    rpc_url: str
    deployments: Path


BATCHES = ((3, [8_000, 6_500, 9_000]), (2, [4_000, 9_500, 7_000]))  # (tasks, the score of seat j)


def by_seat(scores: list[int]) -> Callable[[int, int, str], int]:
    return lambda _task, seat, _evaluator: scores[seat]


@pytest.fixture
def deployed(anvil_chain: str, tmp_path: Path) -> Deployed:
    """Devnet on anvil (the only way these tests drive the chain) with two settled batches."""
    from deploy.devnet import Devnet
    from offchain.chain.connect import connect

    deployments = tmp_path / "deployments"
    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=deployments, stake=5 * 10**18)
    for size, scores in BATCHES:
        net.play_batch(size, by_seat(scores))
    return Deployed(net, anvil_chain, deployments)


@pytest.fixture
def dashboard(deployed: Deployed) -> Iterator[str]:
    """The dashboard server for `deployed`, in a thread on a free port; yields its URL."""
    from offchain.dashboard.server import DashboardServer
    from offchain.dashboard.snapshot import ChainSource

    server = DashboardServer(ChainSource(deployed.rpc_url, deployed.deployments), port=0).start()
    try:
        yield server.url
    finally:
        server.stop()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def shown_balances(driver: Any) -> dict[str, int]:
    """address -> the balance its row holds, back in wei: the exact decimal ETH in the cell's title,
    after checking that the text shown is that amount rounded to 6 places. Read in one script, so a
    redraw between two element lookups cannot leave a stale element behind."""
    cells = driver.execute_script(
        "return [...document.querySelectorAll('#nodes tbody tr[data-address]')]"
        ".map(row => { const cell = row.querySelector('td.balance');"
        " return [row.dataset.address, cell.title, cell.textContent]; });"
    )
    balances = {}
    for address, title, text in cells:
        wei = int(Decimal(title.removesuffix(" ETH")).scaleb(18))
        assert text == eth_rounded(wei), f"{address}: shows {text}, holds {title}"
        balances[address] = wei
    return balances


def shown(driver: Any, selector: str) -> list[str]:
    """The text of every element matching `selector`, read in one script (see shown_balances)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);", selector
    )


def chain_balances(net: Any) -> dict[str, int]:
    return {c.sender: int(net.owner.node(c.sender)["balance"]) for c in net.inference + net.evaluators}


def test_page_shows_every_balance_and_a_new_settlement_without_reload(browser: Any, deployed: Deployed,
                                                                       dashboard: str) -> None:
    net = deployed.net
    browser.get(dashboard)
    expected = chain_balances(net)
    wait_for(lambda: len(shown_balances(browser)) == len(expected), "every node row")
    assert shown_balances(browser) == expected
    settled = sum(size for size, _ in BATCHES)
    assert len(shown(browser, '#tasks tbody tr[data-stage="Finalized"]')) == settled

    browser.execute_script("window.poqSamePage = true;")  # a reload would drop this
    result = net.play_batch(1, by_seat([7_000, 7_000, 3_000]))
    row = f'#tasks tbody tr[data-task-id="{result["first_task_id"]}"][data-stage="Finalized"]'
    wait_for(lambda: shown(browser, row), f"task {result['first_task_id']} settled on the page")
    assert browser.execute_script("return window.poqSamePage === true;")
    wait_for(lambda: shown_balances(browser) == chain_balances(net), "the new balances")
    assert shown(browser, '#stages li[data-stage="Finalized"] .stage-count') == [str(settled + 1)]


def test_task_page_shows_the_texts_and_an_unknown_task_is_a_404_page(browser: Any, deployed: Deployed,
                                                                     dashboard: str) -> None:
    net = deployed.net
    result = net.play_batch(1, by_seat([9_000, 8_000, 8_500]))
    task_id = result["first_task_id"]
    browser.get(f"{dashboard}task/{task_id}")
    wait_for(lambda: shown(browser, "#task-stage") == ["Finalized"], "the task's stage")
    assert shown(browser, "#text-reference") == [net.references[result["batch_id"]][0][0]]
    assert shown(browser, "#panel tbody tr td:nth-child(3)") == ["9.000", "8.000", "8.500"]

    unknown = task_id + 100
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(f"{dashboard}task/{unknown}", timeout=10)
    assert page.value.code == 404
    assert f"There is no task {unknown}" in page.value.read().decode()


def test_snapshot_endpoint_is_json_and_no_route_writes(deployed: Deployed, dashboard: str) -> None:
    with urllib.request.urlopen(f"{dashboard}api/snapshot", timeout=10) as response:
        snap = json.loads(response.read())
    assert snap["status"] == "live"
    assert snap["contract"]["address"] == deployed.net.owner.address
    with pytest.raises(urllib.error.HTTPError) as posted:
        urllib.request.urlopen(urllib.request.Request(f"{dashboard}api/snapshot", data=b"{}", method="POST"))
    assert posted.value.code == 405


def test_background_dashboard_serves_then_exits_with_its_chain(deployed: Deployed, tmp_path: Path) -> None:
    """What `poq demo` starts: a detached dashboard, reused by a second start, gone with its chain."""
    from deploy.localchain import chain_down
    from poq.cli.background_dashboard import probe, start_background
    from tests.conftest import free_port

    port = free_port()
    started = start_background(deployed.rpc_url, deployed.deployments, port=port, state_dir=tmp_path / "dash")
    assert probe(started.url) is not None
    again = start_background(deployed.rpc_url, deployed.deployments, port=port, state_dir=tmp_path / "dash")
    assert again.already_running and again.url == started.url
    chain_down(int(deployed.rpc_url.rsplit(":", 1)[1]), tmp_path / "anvil")  # the anvil_chain fixture's record
    wait_for(lambda: probe(started.url) is None, "the dashboard to exit with its chain", timeout=30)
