#!/usr/bin/env python3
"""How long a restart of the bot keeps users waiting: from spawning `policybot serve` to its first
reply reaching a stand-in Bot API on 127.0.0.1 (getMe, setMyCommands, getWebhookInfo answered;
one question on the first getUpdates; the time of the first sendMessage recorded). Sessions in
memory (no REDIS_URL), the index of `--index-dir` already built. Several binaries are run in
turn, so that two builds can be compared on a noisy machine. Standard library only; not part of
the product or the tests.

usage: python3 benches/serve_start.py [--index-dir DIR] [--runs N] BINARY [BINARY ...]
   e.g. python3 benches/serve_start.py --index-dir /tmp/ix ./target/release/policybot
"""
import argparse
import http.server
import json
import os
import socketserver
import statistics
import subprocess
import threading
import time

QUESTION = "小店房租能减免吗"
ME = {
    "id": 1, "is_bot": True, "first_name": "bot", "username": "policy_bot",
    "can_join_groups": True, "can_read_all_group_messages": False,
    "supports_inline_queries": True, "can_connect_to_business": False,
    "has_main_web_app": False,
}
UPDATE = {
    "update_id": 1,
    "message": {
        "message_id": 1, "date": 1700000000, "text": QUESTION,
        "chat": {"id": 42, "type": "private", "first_name": "u"},
        "from": {"id": 42, "is_bot": False, "first_name": "u"},
    },
}
# One run at a time: whether its question was handed out, when its first reply came.
state = {"given": False, "replied": None}


class Api(http.server.BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        method = self.path.rsplit("/", 1)[-1].lower()
        if method == "getme":
            result = ME
        elif method == "getwebhookinfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        elif method == "getupdates":
            offset = json.loads(body or b"{}").get("offset", 0)
            if not state["given"] and offset <= UPDATE["update_id"]:
                state["given"] = True
                result = [UPDATE]
            else:
                time.sleep(0.5)
                result = []
        elif method == "sendmessage":
            if state["replied"] is None:
                state["replied"] = time.monotonic()
            result = {"message_id": 2, "date": 1700000000, "chat": {"id": 42, "type": "private"}}
        else:
            result = True
        out = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        try:
            self.wfile.write(out)
        except BrokenPipeError:
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--index-dir", default=".policybot/index")
    args.add_argument("--runs", type=int, default=10)
    args.add_argument("binaries", nargs="+")
    opts = args.parse_args()
    server = Server(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, TELOXIDE_TOKEN="1:T", RUST_LOG="warn",
               TELOXIDE_API_URL=f"http://127.0.0.1:{server.server_address[1]}/")
    env.pop("REDIS_URL", None)
    times = {b: [] for b in opts.binaries}
    for _ in range(opts.runs):
        for binary in opts.binaries:
            state.update(given=False, replied=None)
            started = time.monotonic()
            proc = subprocess.Popen([binary, "--index-dir", opts.index_dir, "serve"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while state["replied"] is None and time.monotonic() - started < 10:
                time.sleep(0.001)
            proc.terminate()
            proc.wait()
            if state["replied"] is not None:
                times[binary].append((state["replied"] - started) * 1000)
    for binary, ms in times.items():
        if not ms:
            print(f"{binary}: no reply within 10 s")
            continue
        print(f"{binary}: start to first reply median {statistics.median(ms):.0f} ms, "
              f"min {min(ms):.0f}, max {max(ms):.0f} ({len(ms)} runs)")


if __name__ == "__main__":
    main()
