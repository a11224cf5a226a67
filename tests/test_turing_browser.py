"""A participant takes the visual Turing test in a real headless Chromium (issue 6).

Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver; or
set CHROMIUM / CHROMEDRIVER) and the `selenium` package; skips where any is missing.
The server is uvicorn in a thread on a free local port, and is restarted mid-study.

Screenshots go to a temporary folder; to refresh the README's, run with
SIMGAN_TURING_SCREENSHOTS=docs/images (uses real MPIIGaze eyes from ../shared/data, with
UnityEyes renders standing in for refined images).
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

from simgan.web.app import create_app  # noqa: E402
from simgan.web.pool import ImagePool  # noqa: E402
from simgan.web.store import StudyStore  # noqa: E402
from simgan.web.study import Study  # noqa: E402

N = 10
WRONG = {2, 5, 11, 17, 18, 19}  # trials the scripted participant gets wrong: 14 / 20 right


class LiveServer:
    """uvicorn serving the study app from a thread; stop() is a clean shutdown."""

    def __init__(self, study: Study, db: Path, port: int) -> None:
        self.store = StudyStore(db)
        self.token = self.store.ensure_study(study.fingerprint())
        app = create_app(study, self.store, self.token)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pools(shots: Path | None, request) -> tuple[ImagePool, ImagePool]:
    if shots is None:  # a soft blob on noise, brighter for "real": quick and deterministic
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:36, 0:60]
        blob = 90 * np.exp(-((yy - 18) ** 2 + (xx - 30) ** 2) / 120.0)
        noise = rng.normal(0, 12, (2, 40, 36, 60))
        imgs = np.clip(70 + blob + noise + np.array([20, 0])[:, None, None, None], 0, 255)
        imgs = imgs.astype(np.uint8)[..., None]
        return ImagePool.from_array("real", imgs[0]), ImagePool.from_array("fake", imgs[1])
    from PIL import Image

    data = request.getfixturevalue("shared_data")
    real = np.load(data / "real/mpiigaze_p00_36x60/test_images_36x60_uint8.npz")["images"][:200]
    files = sorted((data / "synthetic/unityeyes_crops_84x140").glob("*.png"))
    fake = np.stack(
        [np.asarray(Image.open(f).convert("L").resize((60, 36), Image.LANCZOS)) for f in files]
    )
    return ImagePool.from_array("real", real), ImagePool.from_array("fake", fake)


@pytest.fixture
def browser(chromium):
    return chromium("1120,860")


def _shot(driver, path: Path, full: bool = True) -> None:
    """Save a PNG of the page (the whole page, or only the window), in 256 colours: small."""
    from PIL import Image

    if full:
        _capture_page(driver, path)
    else:
        driver.save_screenshot(str(path))
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)


def _capture_page(driver, path: Path) -> None:
    # the page down to its last visible element, plus a margin
    w, h = driver.execute_script(
        "const b = [...document.body.children].map(e => e.getBoundingClientRect().bottom);"
        "return [document.documentElement.clientWidth,"
        " Math.min(3000, Math.ceil(Math.max(...b) + window.scrollY + 24))]"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def test_participant_takes_the_study_by_keyboard(browser, tmp_path, request):
    shots_env = os.environ.get("SIMGAN_TURING_SCREENSHOTS")
    shots = Path(shots_env) if shots_env else tmp_path
    real, fake = _pools(Path(shots_env) if shots_env else None, request)
    study = Study(real, fake, n=N)
    db, port = tmp_path / "study.sqlite", _free_port()
    base = f"http://127.0.0.1:{port}"
    server = LiveServer(study, db, port)
    wait = WebDriverWait(browser, 15, poll_frequency=0.05)

    def press(*keys: str) -> None:
        chain = ActionChains(browser)
        for k in keys:
            chain.send_keys(k)
        chain.perform()

    browser.get(base + "/")
    name = wait.until(lambda d: d.find_element(By.ID, "name"))
    wait.until(lambda d: d.find_element(By.ID, "w-total").text == "20")
    name.send_keys("Grace", Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "instructions").is_displayed())
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#instructions img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ex-real img")) == study.n_examples
    _shot(browser, shots / "turing_examples.png")
    press(Keys.ENTER)

    for i in range(2 * N):
        trial = wait.until(
            lambda d, i=i: (
                d.find_element(By.ID, "trial")
                if d.find_element(By.ID, "trial").get_attribute("data-index") == str(i)
                and d.find_element(By.ID, "trial").get_attribute("data-ready") == "1"
                else None
            )
        )
        assert trial.find_element(By.ID, "progress-text").text == f"Image {i + 1} of {2 * N}"
        src = browser.find_element(By.ID, "stimulus").get_attribute("src")
        token = src.rsplit("/", 1)[1]
        assert "real" not in src and "fake" not in src
        truth = server.store.trial_image(token)[0]
        truth = "real" if truth == "real" else "fake"
        choice = truth if i not in WRONG else ("fake" if truth == "real" else "real")
        if i == 3:
            _shot(browser, shots / "turing_study.png")
        if i == 8:  # the server goes down; the key press is retried until it is back
            server.stop()
            press("r" if choice == "real" else "f")
            time.sleep(0.5)
            server = LiveServer(study, db, port)
            continue
        if i == 12:  # a reload resumes the session where it was
            browser.refresh()
            wait.until(lambda d: d.find_element(By.ID, "trial").get_attribute("data-ready") == "1")
        key = "r" if choice == "real" else "f"
        press(key, key) if i == 15 else press(key)  # a double press answers once

    wait.until(lambda d: d.find_element(By.ID, "done").is_displayed())
    right = 2 * N - len(WRONG)
    assert browser.find_element(By.ID, "score-correct").text == str(right)
    assert browser.find_element(By.ID, "score-total").text == str(2 * N)

    browser.get(f"{base}/results?token={server.token}")
    wait.until(
        lambda d: "/" in d.find_element(By.ID, "acc-refined").find_element(By.XPATH, "..").text
    )
    text = browser.find_element(By.ID, "cond-refined").text
    assert f"({right} / {2 * N} correct)" in text
    assert "Grace" in text and f"{right} / {2 * N}" in text
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "table.confusion td")]
    assert sum(map(int, cells)) == 2 * N and int(cells[0]) + int(cells[3]) == right
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.thumbs img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, ".thumbs img")) == len(WRONG)
    _shot(browser, shots / "turing_results.png")
    answers = server.store.answers()
    server.stop()
    assert len(answers) == 2 * N and [a["trial"] for a in answers] == list(range(2 * N))
    assert sum(a["answer"] == a["truth"] for a in answers) == right
