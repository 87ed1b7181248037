"""``fastnet serve`` in a real headless Chromium, driven by Selenium: draw digits, type a prompt.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them);
skipped without them unless FASTNET_REQUIRE_BROWSER=1, as CI sets. The
screenshots go to $FASTNET_TEST_ARTIFACTS (CI: test-artifacts/), else to the
test's temporary folder.
"""
import json
import math
import os
import shutil
import time
import urllib.request

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("starlette")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from fastnet.bench.serve import Server  # noqa: E402

START_TIMEOUT = 900  # seconds: the default network trains at start, after a first compilation of the kernels
PAD = 280


def _browser_paths():
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if os.path.exists(driver) and os.path.exists(binary):
        return driver, binary
    if os.environ.get("FASTNET_REQUIRE_BROWSER") == "1":
        pytest.fail("FASTNET_REQUIRE_BROWSER=1 but chromium and chromium-driver are not installed")
    pytest.skip("needs chromium and chromium-driver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = os.environ.get("FASTNET_TEST_ARTIFACTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server():
    """``fastnet serve`` as a user starts it: the default network trained at start, a GPT trained behind."""
    with Server("--gpt-iters", "40", "--seed", "0", timeout=START_TIMEOUT) as running:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:  # the GPT answers from its first evaluation on
            with urllib.request.urlopen(running.url + "api/gpt", timeout=30) as response:
                if json.loads(response.read())["ready"]:
                    break
            time.sleep(1)
        yield running.url


@pytest.fixture(scope="module")
def browser():
    driver_path, binary = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def _stroke(driver, pad, points):
    """Press the pointer at the first point of the pad (pad pixels), move through the others, release."""
    actions = ActionChains(driver, duration=5)
    x, y = points[0]
    actions.move_to_element_with_offset(pad, x - PAD / 2, y - PAD / 2).click_and_hold()
    for next_x, next_y in points[1:]:
        actions.move_by_offset(round(next_x - x), round(next_y - y))
        x, y = x + round(next_x - x), y + round(next_y - y)
    actions.release().perform()


def _prediction_becomes(driver, digit):
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "prediction").text == digit)


STROKES = {
    "1": [[(140, 40 + 10 * i) for i in range(21)]],
    "0": [[(140 + 60 * math.sin(2 * math.pi * t / 40), 140 - 90 * math.cos(2 * math.pi * t / 40)) for t in range(41)]],
    "7": [[(80 + 12 * i, 50) for i in range(11)] + [(200 - 7 * i, 50 + 19 * i) for i in range(1, 11)]],
}


@pytest.mark.parametrize("digit", list(STROKES))
def test_drawing_a_digit_shows_the_right_prediction(server, browser, artifacts, digit):
    browser.get(server)
    pad = browser.find_element(By.ID, "pad")
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "network-source").text)
    browser.find_element(By.ID, "clear").click()
    _prediction_becomes(browser, "?")
    for points in STROKES[digit]:
        _stroke(browser, pad, points)
    _prediction_becomes(browser, digit)
    browser.save_screenshot(os.path.join(artifacts, f"serve-digit-{digit}.png"))
    assert browser.find_element(By.ID, "error").text == ""
    browser.find_element(By.ID, "clear").click()
    _prediction_becomes(browser, "?")


def test_junk_and_archetype_buttons(server, browser, artifacts):
    browser.get(server)
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "network-source").text)
    browser.find_element(By.ID, "junk").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "prediction").text.isdigit())
    assert "% sure" in browser.find_element(By.ID, "confidence").text
    browser.find_element(By.ID, "clear").click()
    _prediction_becomes(browser, "?")
    browser.find_element(By.CSS_SELECTOR, "#archetype-digit option[value='3']").click()
    browser.find_element(By.ID, "archetype").click()  # the page's first archetype: seed 0
    request = urllib.request.Request(server + "api/archetype", data=json.dumps({"digit": 3, "seed": 0}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        expected = json.loads(response.read())
    # Gradient descent on the input makes a 3 for this network for most seeds (28 of 30 measured), not all:
    # the page must show the network's answer for that image, whatever it is.
    _prediction_becomes(browser, str(expected["prediction"]))
    browser.save_screenshot(os.path.join(artifacts, "serve-archetype-3.png"))


def test_clicking_a_neuron_shows_its_incoming_weights(server, browser):
    browser.get(server)
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "network-source").text)
    canvas = browser.find_element(By.ID, "network")
    scale = canvas.size["width"] / 620  # the canvas is 620 x 420 pixels, drawn at its CSS size
    gap = (620 - 112 - 40) / 3  # digits.js's layout: the 28x28 image, then 3 columns of neurons
    x, y = 10 + 112 + 0.5 * gap, 420 / 2 + (0 - 7.5) * 23  # layer 1's neuron 0 (16 neurons of radius 10)
    ActionChains(browser).move_to_element_with_offset(canvas, (x - 310) * scale, (y - 210) * scale).click().perform()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "neuron").is_displayed())
    assert browser.find_element(By.ID, "neuron-title").text.startswith("layer 1, neuron 0: incoming weights")


def test_typing_a_prompt_fills_the_next_tokens(server, browser, artifacts):
    browser.get(server)
    browser.find_element(By.ID, "tab-gpt").click()
    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys("ROMEO:\nWhat light")
    WebDriverWait(browser, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#next-tokens li")) == 20)
    shares = browser.execute_script(  # read at once: the list is redrawn as the background GPT learns
        "return [...document.querySelectorAll('#next-tokens li .value')].map((v) => parseFloat(v.textContent))")
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100.5
    browser.find_element(By.ID, "generate").click()
    prompt_length = len("ROMEO:\nWhat light")
    WebDriverWait(browser, 60).until(lambda d: len(d.find_element(By.ID, "generated").text) > prompt_length + 50)
    browser.save_screenshot(os.path.join(artifacts, "serve-gpt.png"))
    assert browser.find_element(By.ID, "error").text == ""


# -- issue 31: the seed's explanations on the page -------------------------------------------------------------

THREE = [[(95 + 90 * math.sin(math.pi * t / 20), 90 - 50 * math.cos(math.pi * t / 20)) for t in range(21)]
         + [(95 + 100 * math.sin(math.pi * t / 20), 190 - 50 * math.cos(math.pi * t / 20)) for t in range(1, 21)]]


def _wait(driver, condition, seconds=60):
    WebDriverWait(driver, seconds).until(condition)


def _element_screenshot(driver, element_id, path):
    element = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].scrollIntoView()", element)
    element.screenshot(path)


def test_the_backprop_view_learns_another_digit_and_reset_brings_back_the_3(server, browser, artifacts):
    """Issue 31: draw a 3, choose another digit, the nudges appear; "Learn this" until the page says it; "Reset": 3.

    The digit is the network's runner-up: one it gives ~0 can sit where the sigmoid is flat (the learning slowdown
    of the book's chapter 3), and there 40 clicks of 5 steps moved the cost from 0.9989 to 0.5001 only (seen on
    the network trained with the Cython backend, which the page teaches as well as any other)."""
    browser.get(server)
    _wait(browser, lambda d: d.find_element(By.ID, "network-source").text)
    browser.find_element(By.ID, "clear").click()
    _prediction_becomes(browser, "?")
    for points in THREE:
        _stroke(browser, browser.find_element(By.ID, "pad"), points)
    _prediction_becomes(browser, "3")
    shares = [float(bar.text.rstrip("%")) for bar in browser.find_elements(By.CSS_SELECTOR, "#probabilities .value")]
    digit = str(max((d for d in range(10) if d != 3), key=lambda d: shares[d]))
    browser.find_element(By.CSS_SELECTOR, f"#learn-label option[value='{digit}']").click()
    browser.find_element(By.ID, "show-nudges").click()
    _wait(browser, lambda d: d.find_element(By.ID, "nudges").get_attribute("data-label") == digit)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#nudges .gradient-images canvas")) == 16
    _element_screenshot(browser, "nudges", os.path.join(artifacts, "serve-nudges.png"))
    for _ in range(40):
        browser.find_element(By.ID, "learn").click()
        _wait(browser, lambda d: "steps on this example" in d.find_element(By.ID, "learn-result").text)
        if f"→ {digit}" in browser.find_element(By.ID, "learn-result").text:
            break
        browser.execute_script("document.getElementById('learn-result').textContent = ''")
    _prediction_becomes(browser, digit)
    browser.find_element(By.ID, "cohort").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cohort-view .nudge-panel")) == 11)
    browser.save_screenshot(os.path.join(artifacts, "serve-learned.png"))
    browser.find_element(By.ID, "reset").click()
    _prediction_becomes(browser, "3")
    assert browser.find_element(By.ID, "error").text == ""


def test_the_cost_surface_draws(server, browser, artifacts):
    """Issue 31: the surface over the two parameters the drawing pulls on hardest, and gradient descent's path."""
    browser.get(server)
    _wait(browser, lambda d: d.find_element(By.ID, "network-source").text)
    browser.find_element(By.ID, "junk").click()
    _wait(browser, lambda d: d.find_element(By.ID, "prediction").text.isdigit())
    browser.find_element(By.ID, "draw-surface").click()
    _wait(browser, lambda d: d.find_element(By.ID, "surface").get_attribute("data-drawn") == "true", 120)
    assert "steps of gradient descent" in browser.find_element(By.ID, "surface-caption").text
    _element_screenshot(browser, "surface", os.path.join(artifacts, "serve-surface.png"))
    assert browser.find_element(By.ID, "error").text == ""


def test_the_embeddings_plot_shows_every_token(server, browser, artifacts):
    """Issue 31: one point per token; clicking one lists its nearest tokens."""
    with urllib.request.urlopen(server + "api/gpt/embeddings", timeout=60) as response:
        tokens = json.loads(response.read())["tokens"]
    browser.get(server)
    browser.find_element(By.ID, "tab-gpt").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#embeddings circle")) == len(tokens))
    browser.find_elements(By.CSS_SELECTOR, "#embeddings circle")[len(tokens) // 2].click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbours li")) == 10)
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#dots tr")) == 12)
    browser.save_screenshot(os.path.join(artifacts, "serve-embeddings.png"))
    assert browser.find_element(By.ID, "error").text == ""
