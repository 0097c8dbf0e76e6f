# SPDX-License-Identifier: GPL-3.0-or-later
"""Drives the --demo page of eventsource-server in a headless Chromium through
the DevTools protocol, for tests/e2e/browser_test.cpp (needs Debian's
python3-websockets: run with /usr/bin/python3).

    demo_driver.py PROFILE_DIR URL COUNT [SCREENSHOT.png]

Opens URL (the demo page, with ?token=...&transport=...&connect=1) in the
browser whose --user-data-dir is PROFILE_DIR (started with
--remote-debugging-port=0), prints "open" once the page's stream is open,
then waits until the page has shown COUNT events, prints them as one JSON
line "events [...]", and takes a screenshot if asked. Exit 1 on a deadline.
"""
import asyncio
import base64
import json
import os
import sys
import time
import urllib.request

import websockets


def devtools_port(profile):
    path = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with open(path) as f:
                return int(f.readline())
        except (OSError, ValueError):
            time.sleep(0.1)
    sys.exit("demo_driver: no DevToolsActivePort in " + profile)


class Page:
    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method, **params):
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(method + ": " + json.dumps(reply["error"]))
                return reply.get("result", {})

    async def state(self):
        r = await self.call("Runtime.evaluate", expression="JSON.stringify(window.demoState || null)",
                            returnByValue=True)
        value = r.get("result", {}).get("value")
        return json.loads(value) if value else None

    async def wait(self, predicate, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            s = await self.state()
            if s and predicate(s):
                return s
            await asyncio.sleep(0.1)
        sys.exit("demo_driver: deadline; page state: " + json.dumps(await self.state()))


async def main(profile, url, count, screenshot):
    port = devtools_port(profile)
    targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
    target = next(t for t in targets if t.get("type") == "page")
    async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
        page = Page(ws)
        await page.call("Page.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=1100, height=620, deviceScaleFactor=1,
                        mobile=False)
        await page.call("Page.navigate", url=url)
        await page.wait(lambda s: s["open"])
        print("open", flush=True)
        s = await page.wait(lambda s: len(s["events"]) >= count)
        print("events " + json.dumps(s["events"]), flush=True)
        if screenshot:
            await asyncio.sleep(0.3)  # let the table paint
            shot = await page.call("Page.captureScreenshot", format="png")
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print("screenshot", flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
