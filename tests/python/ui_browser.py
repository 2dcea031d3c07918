"""Drive `aibox ui` in a real browser (Debian's chromium through chromedriver, with selenium).

  ui_browser.py URL LOCK SHOTS

URL is what `aibox ui` printed (with its token), LOCK the project's aibox.lock, SHOTS a
directory for one screenshot per view. Every check is an assert; the last line printed is
`ok`. Called by tests/ui.rs, which checks the effects on disk afterwards.
"""

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

url, lock_path, shots = sys.argv[1:4]
os.makedirs(shots, exist_ok=True)
parts = urllib.parse.urlsplit(url)
base = f"{parts.scheme}://{parts.netloc}"


def status_of(path, headers=None, data=None):
    req = urllib.request.Request(base + path, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# Refused: no token, a wrong token, another Host (DNS rebinding), a POST without the form token.
token = urllib.parse.parse_qs(parts.query)["token"][0]
assert status_of("/discover") == 403
assert status_of("/discover?token=" + "0" * len(token)) == 403
assert status_of(f"/discover?token={token}", {"Host": f"evil.example:{parts.port}"}) == 421
assert status_of(f"/rollback?token={token}", data=b"target=project&to=0") == 403
assert status_of(f"/discover?token={token}") == 200

opts = Options()
opts.binary_location = "/usr/bin/chromium"
for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
    opts.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def gone(old):
    """Whether `old` left the document. While a page is being replaced, chromedriver may
    answer "does not belong to the document" instead of a stale-element error: gone too."""

    def check(_driver):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise

    return check


def navigate(action):
    """Do `action` (a click, a key) and wait for the next page to replace this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 60).until(gone(old))


def click(how, what):
    element = driver.find_element(how, what)
    navigate(element.click)


try:
    # Discover: the search form (a labelled field), then a pack with its signer and permissions.
    driver.get(url)
    assert driver.title.startswith("Discover packs"), driver.title
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "Skip to content"
    field = driver.find_element(By.ID, "q")
    label = driver.find_element(By.CSS_SELECTOR, "label[for=q]")
    assert label.text == "Search packs"
    navigate(lambda: field.send_keys("fetch", Keys.ENTER))
    table = driver.find_element(By.TAG_NAME, "table").text
    assert "fetcher" in table and "1.1.0" in table, table
    assert "signed by" in table and "trusted" in table, table
    assert "connect to 22, 443" in table or "connect to 443, 22" in table, table
    driver.save_screenshot(os.path.join(shots, "ui-discover.png"))
    click(By.LINK_TEXT, "fetcher")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "Signed by" in page and "aibox add fetcher@1.1.0" in page, page
    assert "- scans faster" in page, page
    driver.save_screenshot(os.path.join(shots, "ui-pack.png"))

    # Updates: the permission increase is shown, and refused without confirmation.
    click(By.PARTIAL_LINK_TEXT, "Updates")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "write $HOME" in page and "connect to 22" in page, page
    before = open(lock_path).read()
    click(By.XPATH, "//button[text()='Update fetcher']")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "Not updated" in page, page
    assert open(lock_path).read() == before, "the refused update changed the lock"
    driver.save_screenshot(os.path.join(shots, "ui-updates.png"))
    driver.find_element(By.XPATH, "//label[text()='Accept what it asks for']").click()
    click(By.XPATH, "//button[text()='Update fetcher']")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "Done: Update fetcher 1.0.0 -> 1.1.0" in page, page
    assert 'version = "1.1.0"' in open(lock_path).read()

    # Installed: three generations; switch back to the one with 1.0.0, then compare.
    click(By.LINK_TEXT, "Installed")
    rows = driver.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=project-h] tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == ["2 (current)", "1", "0"], [
        r.text for r in rows
    ]
    click(By.XPATH, "//button[text()='Switch to 1']")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "Switched to generation 1 (from 2)" in page, page
    driver.save_screenshot(os.path.join(shots, "ui-installed.png"))
    driver.find_element(By.CSS_SELECTOR, "#project-a option[value='1']").click()
    driver.find_element(By.CSS_SELECTOR, "#project-b option[value='2']").click()
    click(By.XPATH, "//button[text()='Show the difference']")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "changed fetcher 1.0.0 → 1.1.0" in page, page
finally:
    driver.quit()
print("ok")
