#!/usr/bin/env python3
"""Drives cocoon-serve's web page in headless Chromium, as a person would (`make test-browser`).

Builds a small store with the demo model (cocoon synth + index + a 1-shot CoOp prompt), starts
cocoon-serve on a free loopback port, then with Selenium: loads the page, waits for the store
stats, runs a text search and checks the thumbnails load, uploads a test image and checks the
top-5 bars of zero-shot and the prompt render, sorts the per-class accuracy table, and saves a
screenshot. Closes with one line "browser: N passed, M failed".

Needs Debian's chromium, chromium-driver and python3-selenium. Usage:
  /usr/bin/python3 Tests/browser/serve_page_test.py BIN_DIR [SCREENSHOT.png]
where BIN_DIR holds the built `cocoon` and `cocoon-serve`.
"""
import json, os, random, shutil, socket, subprocess, sys, tempfile, time, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "demo", "model")
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f"  ({detail})"), flush=True)


def cocoon(bin_dir, *args):
    subprocess.run([os.path.join(bin_dir, "cocoon"), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def free_port():
    for _ in range(50):
        port = random.randint(20000, 40000)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free loopback port")


def main():
    bin_dir = os.path.abspath(sys.argv[1])
    screenshot = sys.argv[2] if len(sys.argv) > 2 else None
    work = tempfile.mkdtemp(prefix="cocoon-browser-")
    server = driver = None
    try:
        data, store = os.path.join(work, "data"), os.path.join(work, "store")
        cocoon(bin_dir, "synth", "--out", data, "--image-size", "32")
        root = os.path.join(data, "colored-shapes")
        cocoon(bin_dir, "index", "--model", MODEL, "--dataset", "split-json", "--root", root, "--store", store,
               "--views", "1", "--views-for", "fewshot:1:1")
        prompt = os.path.join(work, "coop-1shot.safetensors")
        cocoon(bin_dir, "tune", "coop", "--store", store, "--model", MODEL, "--dataset", "colored-shapes",
               "--shots", "1", "--out", prompt, "--quiet")
        port = free_port()
        server = subprocess.Popen([os.path.join(bin_dir, "cocoon-serve"), "--store", store, "--model", MODEL,
                                   "--prompt", prompt, "--root", f"colored-shapes={root}", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/api/stats", timeout=5).read()
                break
            except Exception:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("cocoon-serve did not start: " + server.stderr.read().decode())
                time.sleep(0.5)

        options = webdriver.ChromeOptions()
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"]:
            options.add_argument(flag)
        service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
        driver = webdriver.Chrome(options=options, service=service)
        wait = WebDriverWait(driver, 60)
        driver.get(base + "/")
        wait.until(lambda d: "colored-shapes" in d.find_element(By.ID, "stats").text)
        check("page loads and shows the store stats", "colored-shapes" in driver.find_element(By.ID, "stats").text)

        # Text search: a grid of thumbnails that load.
        box = driver.find_element(By.ID, "search-input")
        box.clear()
        box.send_keys("a photo of a red circle.")
        driver.find_element(By.ID, "search-button").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results img")) > 0)
        images = driver.find_elements(By.CSS_SELECTOR, "#results img")
        wait.until(lambda d: all(d.execute_script("return arguments[0].complete", i) for i in images))
        loaded = [driver.execute_script("return arguments[0].naturalWidth", i) for i in images]
        check("search shows thumbnails", len(images) > 0, f"{len(images)} images")
        check("every thumbnail loads", all(w > 0 for w in loaded), f"widths {loaded}")
        check("results show scores and labels", "red circle" in driver.find_element(By.ID, "results").text,
              driver.find_element(By.ID, "results").text[:200])

        # Upload an image: top-5 bars for zero-shot and the prompt.
        image = os.path.join(root, "test", sorted(os.listdir(os.path.join(root, "test")))[0])
        driver.find_element(By.ID, "upload-input").send_keys(image)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#predictions .bar")) >= 10)
        text = driver.find_element(By.ID, "predictions").text
        check("upload shows top-5 for zero-shot and the prompt",
              len(driver.find_elements(By.CSS_SELECTOR, "#predictions .bar")) >= 10 and "coop-1shot" in text, text[:300])

        # Per-class accuracy table, sortable.
        driver.find_element(By.ID, "accuracy-button").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#accuracy-table tbody tr")) > 0)
        rows = driver.find_elements(By.CSS_SELECTOR, "#accuracy-table tbody tr")
        check("per-class accuracy table fills", len(rows) == 32, f"{len(rows)} rows")
        # Clicking "Δ" sorts by the prompt's gain over zero-shot, largest first (a non-numeric
        # key sorts ascending first, a numeric one descending).
        driver.find_element(By.CSS_SELECTOR, '#accuracy-table th[data-key="delta"]').click()
        deltas = [float(r.find_elements(By.TAG_NAME, "td")[5].text)
                  for r in driver.find_elements(By.CSS_SELECTOR, "#accuracy-table tbody tr")]
        check("clicking a column sorts the table", deltas == sorted(deltas, reverse=True), str(deltas[:8]))
        if screenshot:
            driver.save_screenshot(screenshot)
            print("screenshot: " + screenshot)
    except Exception as error:  # a crash is a failure with its reason, never a silent pass
        check("browser run completes", False, repr(error)[:500])
    finally:
        if driver:
            driver.quit()
        if server:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)
    failed = sum(1 for _, ok in results if not ok)
    print(f"browser: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
