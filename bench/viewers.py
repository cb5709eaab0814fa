"""Concurrent viewers: N real headless Chromium sessions (Playwright, Debian's chromium) open
the staff leaderboard at the same moment against one `streamlit run portal/server.py`; p50/p95
time-to-content for N = 1, 10, 20.

    python -m bench.viewers --scale province [--sizes 1 10 20] [--rounds 3]

Each viewer is a different staff member of the bank-wide contest with a user created through
portal.users.create_user. They sign in first (untimed; the HttpOnly session cookie keeps them
signed in), then all N load at once; time-to-content = from the navigation start until the
ranking is visible. Two pages are measured, each against the same floor:
  - `quick`: the phone ranking page staff open from WeCom (/m/ranking, portal/quick_ranking.py),
    until its board table is there;
  - `portal`: the portal's 我的排名 Streamlit page, until the rank metric and the leaderboard
    table are visible.
Each page has its floor, measured in the same rounds: N anonymous sessions loading its sign-in
form — the phone page's (same server and page shell, no portal data) for `quick`, Streamlit's
log-in page (the application and its websocket, no portal data) for `portal` — so `× floor`
shows what the portal adds under the same client load on the same 2 cores. Target (issue 10): p95 at N = 20 ≤ 2× the
single-session time. Also per N and page: CPU seconds of one batch of loads spent by the server
process and by the whole machine (/proc), which shows how much of the time the browsers
themselves take, and the server's CPU per load, which bounds how many phones one server serves.

Loopback only, bounded sizes (≤ 30) and timeouts; the server is always terminated.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import datasets
from bench.harness import machine, parser, print_table, ratio, summary, write_json
from portal.session_cookie import COOKIE_NAME

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAX_VIEWERS = 30
LOAD_TIMEOUT_MS = 120_000
TARGET_X = 2.0


def available() -> str | None:
    """Why the benchmark cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def make_viewers(count: int) -> list[str]:
    """Staff users for `count` different participants of the bank-wide contest."""
    from bench.pages import bench_staff

    return [bench_staff(f"staff_bench_{i + 1:02d}", index=i) for i in range(count)]


def start_server(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    import socket

    from portal import PACKAGE_DIR
    from portal.cli.admin import streamlit_flags

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORTAL_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "streamlit", "run", str(PACKAGE_DIR / "server.py"), f"--server.port={port}",
           "--server.address=127.0.0.1", *streamlit_flags()]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=log.parent)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":  # noqa: S310 - loopback
                return proc, base
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def _sign_in(page, base: str, username: str, password: str) -> None:  # noqa: ANN001
    await page.goto(base)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_text("我的名次").first.wait_for(timeout=LOAD_TIMEOUT_MS)
    for _ in range(100):  # the HttpOnly cookie is set by a request right after the first render
        if any(c["name"] == COOKIE_NAME for c in await page.context.cookies()):
            return
        await page.wait_for_timeout(100)
    raise RuntimeError(f"{username}: no session cookie after signing in")


KINDS = ("floor", "quick", "portal_floor", "portal")
FLOOR_OF = {"quick": "floor", "portal": "portal_floor"}
IDLE_CPU_S = 0.02  # the server is idle once it uses less than this per IDLE_POLL_S
IDLE_POLL_S = 0.25


async def _load(page, base: str, kind: str) -> float:  # noqa: ANN001
    """Seconds from navigation start to the ranking (for the floor, the sign-in form)."""
    from portal.navigation import PHONE_RANKING_PATH

    started = time.perf_counter()
    await page.goto(base if kind.startswith("portal") else base + PHONE_RANKING_PATH, wait_until="commit")
    if kind == "portal":
        await page.get_by_text("我的名次").first.wait_for(timeout=LOAD_TIMEOUT_MS)
        await page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=LOAD_TIMEOUT_MS)
    elif kind == "portal_floor":
        await page.get_by_role("button", name="登录").wait_for(timeout=LOAD_TIMEOUT_MS)
    else:
        await page.locator("#board" if kind == "quick" else "#username").wait_for(timeout=LOAD_TIMEOUT_MS)
    return time.perf_counter() - started


async def _server_idle(pid: int, limit_s: float = 15.0) -> None:
    """Wait until the server process stops using CPU (or `limit_s` passes)."""
    deadline = time.monotonic() + limit_s
    last = cpu_seconds(pid)[0]
    while time.monotonic() < deadline:
        await asyncio.sleep(IDLE_POLL_S)
        now = cpu_seconds(pid)[0]
        if now - last < IDLE_CPU_S:
            return
        last = now


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds used by process `pid`, by the whole machine) so far, from /proc: where the
    time of a batch of loads went — the portal's server or the browsers beside it."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    process = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    machine_busy = sum(int(v) for i, v in enumerate(Path("/proc/stat").read_text().split("\n")[0].split()[1:])
                       if i not in (3, 4)) / tick  # all but idle and iowait
    return process, machine_busy


async def _measure(base: str, usernames: list[str], password: str, sizes: list[int], rounds: int,
                   server_pid: int, kinds: tuple[str, ...]) -> dict:
    """One browser; per viewer a context (its own cookies) with one tab that navigates again for
    every load — like a phone reopening the page — plus an anonymous tab per viewer for the floor.
    The kinds take turns within each round, so a change in the machine's load weighs on all."""
    from playwright.async_api import async_playwright

    out: dict = {kind: {} for kind in kinds} | {"cpu": {}}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            viewers, anonymous = [], []
            for username in usernames:
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                viewers.append(await context.new_page())
                await _sign_in(viewers[-1], base, username, password)
                anonymous.append(await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page())
            for kind in kinds:  # warm-up: server imports, caches
                await _load((anonymous if kind.endswith("floor") else viewers)[0], base, kind)
            for n in sizes:
                samples = {kind: [] for kind in kinds}
                cpu = {kind: [0.0, 0.0] for kind in kinds}
                for _ in range(rounds):
                    for kind in kinds:
                        pages = (anonymous if kind.endswith("floor") else viewers)[:n]
                        before = cpu_seconds(server_pid)
                        samples[kind] += await asyncio.gather(*(_load(page, base, kind) for page in pages))
                        # What the loads leave running (the rest of a Streamlit script run, the
                        # sessions closing) is billed to them, not to the next batch.
                        await asyncio.gather(*(page.goto("about:blank") for page in pages))
                        await _server_idle(server_pid)
                        after = cpu_seconds(server_pid)
                        cpu[kind][0] += after[0] - before[0]
                        cpu[kind][1] += after[1] - before[1]
                for kind in kinds:
                    out[kind][n] = samples[kind]
                out["cpu"][n] = {kind: {"server_s": round(cpu[kind][0] / rounds, 3),
                                        "machine_s": round(cpu[kind][1] / rounds, 3),
                                        "server_ms_per_load": round(1000 * cpu[kind][0] / rounds / n, 1)}
                                 for kind in kinds}
        finally:
            await browser.close()
    return out


def run(scale: str, backend: str, sizes: list[int], rounds: int, kinds: tuple[str, ...] = KINDS) -> dict:
    from seed.demo import DEMO_PASSWORD

    sizes = sorted({min(MAX_VIEWERS, max(1, n)) for n in sizes})
    with datasets.database(scale, backend) as url:
        with datasets.configured(url):
            usernames = make_viewers(max(sizes))
        folder = Path(tempfile.mkdtemp(prefix="pp-viewers-"))
        proc, base = start_server(url, folder / "server.log")
        try:
            samples = asyncio.run(_measure(base, usernames, DEMO_PASSWORD, sizes, rounds, proc.pid, kinds))
        finally:
            stop(proc)
    pages = {}
    for kind in kinds:
        if kind not in FLOOR_OF:
            continue
        rows = []
        for n in sizes:
            content, floor = summary(samples[kind][n]), summary(samples[FLOOR_OF[kind]][n])
            rows.append({"n": n, "content": content, "floor": floor, **samples["cpu"][n][kind],
                         "floor_cpu": samples["cpu"][n][FLOOR_OF[kind]],
                         "p95_x_floor": ratio(content["p95"], floor["p95"])})
        single = rows[0]["content"]["p95"] if rows[0]["n"] == 1 else None
        floor_single = rows[0]["floor"]["p95"] if rows[0]["n"] == 1 else None
        for r in rows:
            r["p95_x_single"] = ratio(r["content"]["p95"], single)
            r["floor_p95_x_single"] = ratio(r["floor"]["p95"], floor_single)
        last = rows[-1]
        pages[kind] = {"sizes": rows, "ok": last["n"] >= 20 and last["p95_x_single"] is not None
                       and last["p95_x_single"] <= TARGET_X}
    return {"scale": scale, "backend": backend, "rounds": rounds, "target_x": TARGET_X, "pages": pages,
            "samples": samples}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 20])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick-only", action="store_true", help="skip the portal's Streamlit page")
    args = p.parse_args()
    why = available()
    if why:
        raise SystemExit(f"cannot run: {why} (apt-get install chromium; pip install playwright)")
    backend = "postgres" if args.backend == "postgres" else "sqlite"
    info = machine(os.environ.get(datasets.PG_ENV) if backend == "postgres" else None)
    kinds = ("floor", "quick") if args.quick_only else KINDS
    result = run(args.scale, backend, args.sizes, args.rounds, kinds)
    for kind, page in result["pages"].items():
        rows = [{"n": r["n"], "p50_s": r["content"]["p50"], "p95_s": r["content"]["p95"],
                 "p95_x_single": r["p95_x_single"], "floor_p95_s": r["floor"]["p95"],
                 "floor_x_single": r["floor_p95_x_single"], "p95_x_floor": r["p95_x_floor"],
                 "server_ms_per_load": r["server_ms_per_load"], "server_cpu_s": r["server_s"],
                 "machine_cpu_s": r["machine_s"]} for r in page["sizes"]]
        print_table(f"concurrent viewers · {kind} ranking page · {args.scale} · {backend} · {args.rounds} rounds · "
                    f"target p95(20) ≤ {TARGET_X:g}× p95(1)", rows,
                    ["n", "p50_s", "p95_s", "p95_x_single", "floor_p95_s", "floor_x_single", "p95_x_floor",
                     "server_ms_per_load", "server_cpu_s", "machine_cpu_s"])
    info["loadavg_after"] = list(os.getloadavg())
    path = write_json(f"viewers-{args.scale}-{backend}", {"machine": info, **result}, out_dir=args.out)
    print(f"\n→ {path}")


if __name__ == "__main__":
    main()
