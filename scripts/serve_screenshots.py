"""The screenshots of fastnet serve's explanations in docs/: python scripts/serve_screenshots.py GPT.npz OUT_DIR.

Starts ``fastnet serve --gpt GPT.npz`` (the default digit network, trained at start), drives headless Chromium
(Debian's chromium and chromium-driver) as the browser tests do: draws a 3, asks for an 8, shows the nudges,
learns, averages a cohort, draws the cost surface; then the GPT page's embeddings. Writes serve-nudges.png,
serve-surface.png and serve-embeddings.png to OUT_DIR.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from fastnet.bench.serve import Server

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from test_serve_browser import THREE, _stroke  # noqa: E402 - the browser tests' strokes: the same 3


def main(gpt, out):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    with Server("--gpt", gpt, "--seed", "0", timeout=900) as server:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 120)
        try:
            driver.get(server.url)
            wait.until(lambda d: d.find_element(By.ID, "network-source").text)
            for points in THREE:
                _stroke(driver, driver.find_element(By.ID, "pad"), points)
            wait.until(lambda d: d.find_element(By.ID, "prediction").text == "3")
            driver.find_element(By.CSS_SELECTOR, "#learn-label option[value='8']").click()
            driver.find_element(By.ID, "show-nudges").click()
            wait.until(lambda d: d.find_element(By.ID, "nudges").get_attribute("data-label") == "8")
            driver.find_element(By.ID, "cohort").click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cohort-view .nudge-panel")) == 11)
            heading = driver.find_elements(By.TAG_NAME, "h2")[0]
            driver.execute_script("arguments[0].scrollIntoView()", heading)
            driver.save_screenshot(os.path.join(out, "serve-nudges.png"))
            driver.find_element(By.ID, "draw-surface").click()
            wait.until(lambda d: d.find_element(By.ID, "surface").get_attribute("data-drawn") == "true")
            driver.execute_script("arguments[0].scrollIntoView()", driver.find_elements(By.TAG_NAME, "h2")[1])
            driver.save_screenshot(os.path.join(out, "serve-surface.png"))
            driver.find_element(By.ID, "tab-gpt").click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#embeddings circle")) > 10)
            driver.execute_script("arguments[0].scrollIntoView()", driver.find_elements(By.TAG_NAME, "h2")[2])
            letters = [c for c in driver.find_elements(By.CSS_SELECTOR, "#embeddings text") if c.text == "e"]
            (letters[0] if letters else driver.find_elements(By.CSS_SELECTOR, "#embeddings circle")[30]).click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbours li")) == 10)
            driver.save_screenshot(os.path.join(out, "serve-embeddings.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    main(*sys.argv[1:3])
