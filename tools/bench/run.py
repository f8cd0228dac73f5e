#!/usr/bin/python3
"""The benchmark: our stack against bare webrtcbin and Chromium, in one run, with the same media.

    tools/bench/run.py            # the full run (about 20 minutes on 2 cores)
    tools/bench/run.py --smoke    # a short run that only checks that every mode works

It starts the real calling-server on a free loopback port, runs each measurement of
build/tools/bench/calling-bench for our stack and for two bare webrtcbins (each in fresh
processes), the Chromium page (tools/bench/chromium_bench.mjs) for set-up and latency, and the
server load generator (build/tools/bench/server/calling-bench-server) when it is built. It prints
a table with the ratios and writes build/bench/results.json and build/bench/results.svg (the
distributions). It exits non-zero when a mode fails or gives no numbers.
"""

import argparse
import concurrent.futures
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def percentile(values, fraction):
    """The nearest-rank percentile: the smallest value with at least `fraction` of them at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Runner:
    def __init__(self, args):
        self.args = args
        self.build = Path(args.build_dir).resolve()
        self.out = Path(args.out).resolve() if args.out else self.build / "bench"
        self.out.mkdir(parents=True, exist_ok=True)
        self.bench = self.build / "tools" / "bench" / "calling-bench"
        self.server_binary = self.build / "tools" / "calling-server" / "calling-server"
        self.load_generator = Path(args.server_bench) if args.server_bench else (
            self.build / "tools" / "bench" / "server" / "calling-bench-server")
        self.env = dict(os.environ)
        # The plugin in the build tree, through a registry of the benchmark's own, so that an
        # installed or stale copy is never picked up.
        plugins = str(self.build / "plugins")
        self.env["GST_PLUGIN_PATH_1_0"] = plugins + (
            ":" + self.env["GST_PLUGIN_PATH_1_0"] if self.env.get("GST_PLUGIN_PATH_1_0") else "")
        self.env["GST_REGISTRY_1_0"] = str(self.out / "gst-registry.bin")
        self.env.pop("DISPLAY", None)
        self.env.pop("WAYLAND_DISPLAY", None)
        self.server = None
        self.state_dir = None
        self.failures = []
        self.log = []

    # -- calling-server ----------------------------------------------------------------------
    def start_server(self):
        self.state_dir = tempfile.mkdtemp(prefix="calling-bench-")
        env = dict(self.env)
        env.pop("CALLING_SERVER_ACCESS_KEY", None)
        self.server_log = open(self.out / "calling-server.log", "w")
        self.server = subprocess.Popen(
            [str(self.server_binary), "--listen", "127.0.0.1:0", "--state-dir", self.state_dir],
            stdout=subprocess.PIPE, stderr=self.server_log, env=env, text=True)
        line = self.server.stdout.readline().strip()
        if not line:
            raise SystemExit("calling-server printed no connection string (see %s)" % self.server_log.name)
        self.env["CALLING_CONNECTION_STRING"] = line

    def stop_server(self):
        if self.server:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- one measurement ---------------------------------------------------------------------
    def run_json(self, name, argv, timeout):
        started = time.monotonic()
        try:
            done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.failures.append("%s: no result within %d s" % (name, timeout))
            print("  %-28s TIMEOUT" % name, flush=True)
            return None
        took = time.monotonic() - started
        result = None
        if done.returncode == 0:
            for line in reversed(done.stdout.strip().splitlines()):
                try:
                    result = json.loads(line)
                    break
                except json.JSONDecodeError:
                    continue
        if result is None:
            why = (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]
            self.failures.append("%s: %s" % (name, why))
            print("  %-28s FAILED (%s)" % (name, why), flush=True)
            (self.out / ("%s.stderr" % name.replace(" ", "-"))).write_text(done.stderr)
            return None
        print("  %-28s ok (%.1f s)" % (name, took), flush=True)
        return result

    def calling_bench(self, name, mode, stack, *extra, timeout=300):
        return self.run_json(name, [str(self.bench), mode, "--stack", stack, *map(str, extra)], timeout)

    # -- the run ------------------------------------------------------------------------------
    def run(self):
        a = self.args
        results = {"machine": machine(), "smoke": a.smoke, "command": " ".join(["tools/bench/run.py"] + sys.argv[1:]),
                   "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        # Warm the registry so that no measured process pays for a plugin scan.
        subprocess.run(["gst-inspect-1.0", "callbin"], env=self.env, capture_output=True)
        self.start_server()
        # Each job: where its result goes, and what makes it. A full run runs them one after
        # another, alone on the machine, since they measure it; a smoke run only checks that each
        # works, so it runs a few at once to stay short.
        warmup = ["--warmup", a.warmup]
        jobs = []
        for stack in ("ours", "bare"):
            jobs.append((("setup", stack), lambda stack=stack: self.calling_bench(
                "setup %s" % stack, "setup", stack, "--calls", a.calls)))
        jobs.append((("setup", "chromium"), lambda: self.run_json(
            "setup+latency chromium",
            ["node", str(ROOT / "tools" / "bench" / "chromium_bench.mjs"), "--calls", str(a.calls),
             "--latency-seconds", str(a.latency_seconds)], timeout=300)))
        for stack in ("ours", "bare"):
            jobs.append((("latency", stack), lambda stack=stack: self.calling_bench(
                "latency %s" % stack, "latency", stack, "--seconds", a.latency_seconds, *warmup)))
        for media, count in (("audio", a.cpu_audio_calls), ("av", a.cpu_av_calls)):
            for stack in ("ours", "bare"):
                jobs.append((("cpu", media, stack), lambda media=media, count=count, stack=stack: self.calling_bench(
                    "cpu %s %s x%d" % (media, stack, count), "cpu", stack, "--calls", count, "--media", media,
                    "--seconds", a.cpu_seconds, *warmup)))
        for stack in ("ours", "bare"):
            jobs.append((("capacity", stack), lambda stack=stack: self.capacity(stack)))
        jobs.append((("server",), self.server_load))
        print("set-up: %d calls per stack (the first of each process apart); latency: %g s; CPU: %g s with "
              "%d audio-only and %d A/V calls; capacity: audio-only calls from %d by %d up to %d, %g s each"
              % (a.calls, a.latency_seconds, a.cpu_seconds, a.cpu_audio_calls, a.cpu_av_calls, a.capacity_start,
                 a.capacity_step, a.capacity_max, a.capacity_seconds), flush=True)
        try:
            if a.smoke:
                with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
                    outcomes = list(pool.map(lambda job: (job[0], job[1]()), jobs))
            else:
                outcomes = [(key, make()) for key, make in jobs]
        finally:
            self.stop_server()
        for key, value in outcomes:
            node = results
            for part in key[:-1]:
                node = node.setdefault(part, {})
            node[key[-1]] = value
        chromium = (results.get("setup") or {}).get("chromium")
        if chromium:
            results.setdefault("latency", {})["chromium"] = {"video_ms": chromium.get("video_ms", [])}
        results["failures"] = self.failures
        return results

    def capacity(self, stack):
        """Ramps the number of concurrent audio-only calls until the lost-or-late share passes 1%."""
        a = self.args
        steps = []
        carried = 0
        count = a.capacity_start
        while count <= a.capacity_max:
            step = self.calling_bench("capacity %s x%d" % (stack, count), "capacity", stack, "--calls", count,
                                      "--seconds", a.capacity_seconds, "--warmup", a.warmup,
                                      timeout=120 + 5 * count)
            if step is None:
                break
            bad = step.get("lost_fraction", 1) + step.get("late_fraction", 1) if step.get("connected") else 1
            step["bad_fraction"] = bad
            steps.append(step)
            if bad >= 0.01:
                break
            carried = count
            count += a.capacity_step
        return {"carried": carried, "limit_reached": bool(steps) and steps[-1]["bad_fraction"] >= 0.01,
                "ceiling": a.capacity_max, "steps": steps}

    def server_load(self):
        if not self.load_generator.exists():
            print("server load: %s is not built; skipped" % self.load_generator, flush=True)
            return {"skipped": "calling-bench-server is not built"}
        print("server load (calling-bench-server)", flush=True)
        argv = [str(self.load_generator), "--calling-server", str(self.server_binary)]
        if self.args.smoke:
            argv.append("--smoke")
        return self.run_json("server load", argv, timeout=600)


def machine():
    info = {"cpus": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    try:
        info["gstreamer"] = subprocess.run(["gst-inspect-1.0", "--version"], capture_output=True,
                                           text=True).stdout.splitlines()[1]
    except (OSError, IndexError):
        pass
    return info


# -- the table ---------------------------------------------------------------------------------

def fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        text = "%.3f" % value if abs(value) < 1 else "%.1f" % value if abs(value) < 100 else "%.0f" % value
    else:
        text = str(value)
    return text + unit


def ratio(ours, other):
    if ours is None or other in (None, 0):
        return None
    return ours / other


def summary(results):
    """The rows of the table: (what, ours, bare, chromium, ours/bare, ours/chromium, target)."""
    rows = []

    def stat(section, stack, key, fraction):
        entry = (results.get(section) or {}).get(stack) or {}
        return percentile(entry.get(key) or [], fraction)

    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        values = {s: stat("setup", s, "warm_ms", fraction) for s in ("ours", "bare", "chromium")}
        target = "≤ Chromium" if label == "p50" else "≤ 200 ms"
        rows.append(("set-up, warm, %s (ms)" % label, values["ours"], values["bare"], values["chromium"],
                     ratio(values["ours"], values["bare"]), ratio(values["ours"], values["chromium"]), target))
    for stage, name in (("stage_connected_ms", "connected (ICE + DTLS)"),
                        ("stage_remote_video_ms", "callee's video known"),
                        ("stage_view_ready_ms", "view made")):
        values = {}
        for s in ("ours", "bare"):
            warm = [v for v in ((results.get("setup") or {}).get(s) or {}).get(stage, [])[1:] if v >= 0]
            values[s] = percentile(warm, 0.5)
        if values["ours"] is None and values["bare"] is None:
            continue
        rows.append(("  set-up stage: %s, p50 (ms)" % name, values["ours"], values["bare"], None,
                     ratio(values["ours"], values["bare"]), None, ""))
    first = {s: ((results.get("setup") or {}).get(s) or {}).get("first_call_ms") for s in ("ours", "bare", "chromium")}
    rows.append(("set-up, first call of a process (ms)", first["ours"], first["bare"], first["chromium"],
                 ratio(first["ours"], first["bare"]), ratio(first["ours"], first["chromium"]), ""))
    for kind, key in (("video glass-to-glass", "video_ms"), ("audio mouth-to-ear", "audio_ms")):
        for label, fraction in (("p50", 0.5), ("p95", 0.95)):
            values = {s: stat("latency", s, key, fraction) for s in ("ours", "bare", "chromium")}
            target = "≤ 50 ms" if (label == "p50" and key == "video_ms") else ""
            rows.append(("%s, %s (ms)" % (kind, label), values["ours"], values["bare"], values["chromium"],
                         ratio(values["ours"], values["bare"]), ratio(values["ours"], values["chromium"]), target))
    for media, name in (("audio", "audio only"), ("av", "Opus + VP8 640x480")):
        entry = (results.get("cpu") or {}).get(media) or {}
        ours, bare = entry.get("ours") or {}, entry.get("bare") or {}
        calls = int(ours.get("calls") or bare.get("calls") or 0)
        o, b = ours.get("cpu_s_per_call_s"), bare.get("cpu_s_per_call_s")
        # CPU only compares when both stacks delivered the media: video at (nearly) 30 fps, audio
        # with (nearly) no speaker buffer dropped late. A starved machine drops both, and what
        # is dropped costs nothing.
        target = "≤ 1.05× bare"
        short = [stack for stack, entry in (("ours", ours), ("bare", bare))
                 if (media == "av" and (entry.get("received_fps_per_stream") or 0) < 25) or
                 (entry.get("audio_buffers_late") or 0) > 0.01 * ((entry.get("audio_buffers_played") or 0) + 1)]
        if short:
            target += " (not comparable: %s did not deliver the media)" % " and ".join(short)
        rows.append(("CPU s per call-s, %s, %s calls" % (name, fmt(calls)), o, b, None, ratio(o, b), None, target))
        # The work delivered for that CPU: a loaded machine drops frames, and a frame not encoded
        # costs nothing, so CPU figures only compare at similar frame rates.
        if media == "av":
            o, b = ours.get("received_fps_per_stream"), bare.get("received_fps_per_stream")
            rows.append(("  received video frames/s per stream (of 30)", o, b, None, ratio(o, b), None, ""))
        o, b = ours.get("peak_kib_per_call"), bare.get("peak_kib_per_call")
        rows.append(("peak memory per call, %s (MiB)" % name, o / 1024 if o is not None else None,
                     b / 1024 if b is not None else None, None, ratio(o, b), None, ""))
    capacity = results.get("capacity") or {}

    def carried(stack):
        entry = capacity.get(stack)
        if not entry:
            return None
        if entry["limit_reached"] and entry["carried"] == 0:
            return "< %d" % int(entry["steps"][0]["calls"])
        return entry["carried"] if entry["limit_reached"] else "≥ %d" % entry["carried"]

    o, b = carried("ours"), carried("bare")
    rows.append(("capacity, audio-only calls < 1% lost/late", o, b, None,
                 ratio(o, b) if isinstance(o, int) and isinstance(b, int) else None, None, ""))
    server = results.get("server") or {}
    if "skipped" not in server and server:
        per = server.get("bytes_per_agent")
        rows.append(("server: concurrent agents", server.get("agents"), None, None, None, None, "≥ 10,000"))
        rows.append(("server: memory per agent (KiB)", per / 1024 if per is not None else None, None, None, None,
                     None, "≤ 20 KiB"))
        rows.append(("server: call set-ups per second", server.get("setups_per_second"), None, None, None, None,
                     "≥ 500"))
        rows.append(("server: call set-up p50 / p95, signalling only (ms)",
                     "%s / %s" % (fmt(server.get("setup_ms_p50")), fmt(server.get("setup_ms_p95"))),
                     None, None, None, None, ""))
    return rows


def table(rows):
    header = ("measure", "ours", "bare webrtcbin", "Chromium", "ours/bare", "ours/Chromium", "target")
    cells = [header] + [(r[0], fmt(r[1]), fmt(r[2]), fmt(r[3]),
                         fmt(r[4], "×") if r[4] is not None else "—",
                         fmt(r[5], "×") if r[5] is not None else "—", r[6]) for r in rows]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "|".join(["---"] * len(header)) + "|")
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("Call set-up, warm (ms)", [(s, ((results.get("setup") or {}).get(s) or {}).get("warm_ms") or [])
                                    for s in ("ours", "bare", "chromium")]),
        ("Video glass-to-glass (ms)", [(s, ((results.get("latency") or {}).get(s) or {}).get("video_ms") or [])
                                       for s in ("ours", "bare", "chromium")]),
        ("Audio mouth-to-ear (ms)", [(s, ((results.get("latency") or {}).get(s) or {}).get("audio_ms") or [])
                                     for s in ("ours", "bare")]),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5))
    for axis, (title, series) in zip(axes, panels):
        present = [(name, values) for name, values in series if values]
        if present:
            axis.boxplot([values for _, values in present], labels=[name for name, _ in present],
                         whis=(5, 95), showfliers=True)
            for i, (_, values) in enumerate(present, start=1):
                axis.scatter([i + 0.25] * len(values), values, s=6, alpha=0.4)
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle("gst-calling vs bare webrtcbin vs Chromium (whiskers: p5–p95)%s" %
                    (" — smoke run" if results.get("smoke") else ""))
    figure.tight_layout()
    figure.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a short run: every mode, a few calls, seconds")
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--out", help="where results go (default: BUILD/bench)")
    parser.add_argument("--calls", type=int, help="set-up: calls per stack (default 25)")
    parser.add_argument("--latency-seconds", type=float)
    parser.add_argument("--cpu-seconds", type=float)
    parser.add_argument("--cpu-audio-calls", type=int)
    parser.add_argument("--cpu-av-calls", type=int)
    parser.add_argument("--capacity-start", type=int)
    parser.add_argument("--capacity-step", type=int)
    parser.add_argument("--capacity-max", type=int)
    parser.add_argument("--capacity-seconds", type=float)
    parser.add_argument("--server-bench", help="the server load generator (default: BUILD/tools/bench/server/"
                        "calling-bench-server; skipped when it is not there)")
    parser.add_argument("--warmup", type=float, help="seconds between the calls connecting and a window")
    args = parser.parse_args()
    full = dict(calls=25, latency_seconds=30, cpu_seconds=30, cpu_audio_calls=10, cpu_av_calls=3,
                capacity_start=5, capacity_step=5, capacity_max=60, capacity_seconds=15, warmup=2)
    smoke = dict(calls=3, latency_seconds=2, cpu_seconds=2, cpu_audio_calls=1, cpu_av_calls=1,
                 capacity_start=2, capacity_step=2, capacity_max=2, capacity_seconds=2, warmup=0.5)
    for key, value in (smoke if args.smoke else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    runner = Runner(args)
    if not runner.bench.exists():
        raise SystemExit("%s is not built (tools/setup.sh builds it)" % runner.bench)
    results = runner.run()
    rows = summary(results)
    results["table"] = [dict(zip(("measure", "ours", "bare", "chromium", "ours_over_bare", "ours_over_chromium",
                                  "target"), row)) for row in rows]
    (runner.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = table(rows)
    (runner.out / "results.md").write_text(text + "\n")
    plot(results, runner.out / "results.svg")
    print()
    print(text)
    print("\nresults: %s, %s" % (runner.out / "results.json", runner.out / "results.svg"))
    if results["failures"]:
        print("\nfailed:\n  " + "\n  ".join(results["failures"]), file=sys.stderr)
        return 1
    # Every measure of ours and bare must have a number, and Chromium's where it applies.
    missing = []
    for row in rows:
        if row[0].startswith("server:") or row[0].startswith("  "):
            continue
        needs_chromium = row[0].startswith("set-up") or row[0].startswith("video")
        if row[1] is None or row[2] is None or (needs_chromium and row[3] is None):
            missing.append(row[0])
    if missing:
        print("no numbers for: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
