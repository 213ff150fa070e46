"""Screenshots of the dashboard for the docs, from a store of made-up requests.

    uv run python docs/gen_dashboard_screenshots.py

Seeds a temporary store (``dynamic_orchestrator_sqlite.dashboard.sample``), serves it with
``dynamic-orchestrator dashboard`` and has headless Chromium (Debian package ``chromium``)
take one PNG per period on a laptop-sized window and one on a phone-sized one, into
``docs/images/``. No network is used: every host name but 127.0.0.1 fails to resolve.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from dynamic_orchestrator_sqlite.dashboard.sample import write_sample_store

OUT = Path(__file__).resolve().parent / "images"
SHOTS = {  # file name: (period, width, height)
    "dashboard-1h.png": ("1h", 1280, 1480),
    "dashboard-1d.png": ("1d", 1280, 1480),
    "dashboard-30d.png": ("30d", 1280, 1480),
    "dashboard-phone.png": ("1d", 390, 2500),
}


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "metrics.sqlite3"
        write_sample_store(store, time.time())
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({"metrics": {"path": str(store), "retention_days": 40}}))
        server = subprocess.Popen(
            [sys.executable, "-m", "dynamic_orchestrator", "dashboard", "--port", "0",
             "--no-open", "--config", str(config)],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stderr is not None
            match = re.search(r"(http://\S+/dashboard)", server.stderr.readline())
            assert match, "the dashboard did not start"
            url = match.group(1)
            for _ in range(200):
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            for name, (period, width, height) in SHOTS.items():
                subprocess.run(
                    [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     f"--window-size={width},{height}", f"--screenshot={OUT / name}",
                     f"{url}?period={period}"],
                    check=True, capture_output=True, timeout=120,
                )  # fmt: skip
                print(OUT / name)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
