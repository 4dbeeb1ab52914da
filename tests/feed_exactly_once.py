#!/usr/bin/env python3
"""Exactly-once in effect over an at-least-once feed, with real processes.

A demo producer appends 100000 events (value(seq) known to both sides) to
its LMDB outbox while serving the feed; a demo consumer applies them to its
own LMDB store, recording each seq with MDB_NOOVERWRITE so that a double
apply is detected, not hidden. While events stream, the consumer is
SIGKILLed at least 3 times and the producer at least once, at seeded random
points, and each is restarted. In the end the consumer must hold every event
exactly once: cursor 100000, no gaps, and the producer's sum.

usage: feed_exactly_once.py PRODUCER CONSUMER PAY_KEYGEN
Set FEED_TEST_SEED to replay a run; the seed is printed either way.
"""
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOTAL = 100000
RATE = 500          # events per producer transaction
PAUSE_MS = 40       # between transactions: the stream lasts ~10 s
FINAL_WAIT_S = 300  # bound on catching up after the last kill

n_checks = 0
n_failed = 0


def check(ok, what):
    global n_checks, n_failed
    n_checks += 1
    if not ok:
        n_failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n_checks, what), flush=True)
    return ok


def note(msg):
    print("# " + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_kv(text):
    out = {}
    for word in text.split():
        if "=" in word:
            k, v = word.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


class Proc:
    """One demo program, restartable, with its stderr appended to a log."""

    def __init__(self, exe, name, data, args, log_path):
        self.exe, self.name, self.data, self.args = exe, name, data, args
        self.log_path = log_path
        self.p = None
        self.starts = 0

    def start(self):
        log = open(self.log_path, "ab")
        self.p = subprocess.Popen([self.exe, "--data", self.data] + self.args,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        self.starts += 1

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def dump(self):
        r = subprocess.run([self.exe, "--data", self.data, "--dump"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        return parse_kv(r.stdout)


def log_lines(path, needle):
    try:
        with open(path, "r", errors="replace") as f:
            return [l.rstrip() for l in f if needle in l]
    except OSError:
        return []


def main():
    if len(sys.argv) != 4:
        print("usage: feed_exactly_once.py PRODUCER CONSUMER PAY_KEYGEN",
              file=sys.stderr)
        return 2
    producer_exe, consumer_exe, keygen = sys.argv[1:4]
    seed = int(os.environ.get("FEED_TEST_SEED") or time.time_ns() % 1000000007)
    note("seed=%d (set FEED_TEST_SEED=%d to replay)" % (seed, seed))
    rng = random.Random(seed)

    with tempfile.TemporaryDirectory(prefix="feed_eo_") as tmp:
        keys = os.path.join(tmp, "keys")
        os.mkdir(keys)
        ok = True
        for cmd in ([keygen, os.path.join(keys, "producer")],
                    [keygen, os.path.join(keys, "consumer")],
                    [keygen, "--allow", os.path.join(keys, "allow"),
                     "--role", "service", "--scope", "-", "--name",
                     "demo-consumer", os.path.join(keys, "consumer.pub")]):
            ok = ok and subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode == 0
        if not check(ok, "keys and allow-list made with pay-keygen"):
            print("1..%d" % n_checks)
            return 1

        endpoint = "tcp://127.0.0.1:%d" % free_port()
        plog = os.path.join(tmp, "producer.log")
        clog = os.path.join(tmp, "consumer.log")
        prod = Proc(producer_exe, "producer", os.path.join(tmp, "p"),
                    ["--endpoint", endpoint, "--keys", keys,
                     "--total", str(TOTAL), "--rate", str(RATE),
                     "--pause-ms", str(PAUSE_MS)], plog)
        cons = Proc(consumer_exe, "consumer", os.path.join(tmp, "c"),
                    ["--endpoint", endpoint, "--keys", keys,
                     "--window", "4096"], clog)

        # The kill plan: thresholds on the producer's durable outbox count,
        # so each kill lands while events are still being appended.
        plan = [("consumer", rng.randint(5000, 90000)) for _ in range(rng.randint(3, 5))]
        plan += [("producer", rng.randint(10000, 85000)) for _ in range(rng.randint(1, 2))]
        plan.sort(key=lambda x: x[1])
        note("plan: " + ", ".join("%s@%d" % p for p in plan))

        consumer_kills = []   # cursor at kill time
        producer_kills = []   # outbox count at kill time
        try:
            cons.start()
            prod.start()
            for who, threshold in plan:
                deadline = time.time() + 120
                count = 0
                while time.time() < deadline:
                    count = prod.dump().get("count", 0)
                    if count >= threshold:
                        break
                    time.sleep(0.05)
                if count < threshold:
                    check(False, "producer reached %d events within 120 s (at %d)"
                          % (threshold, count))
                    break
                time.sleep(rng.uniform(0, 0.3))
                if who == "consumer":
                    cons.kill()
                    d = cons.dump()
                    consumer_kills.append(d.get("cursor", -1))
                    note("SIGKILL consumer: cursor %s, outbox %d" % (d.get("cursor"), count))
                    time.sleep(rng.uniform(0, 0.5))
                    cons.start()
                else:
                    prod.kill()
                    d = prod.dump()
                    producer_kills.append(d.get("count", -1))
                    note("SIGKILL producer: outbox %s" % d.get("count"))
                    time.sleep(rng.uniform(0, 0.5))
                    prod.start()

            deadline = time.time() + FINAL_WAIT_S
            cursor = 0
            while time.time() < deadline:
                cursor = cons.dump().get("cursor", 0)
                if cursor >= TOTAL:
                    break
                if not cons.alive() or not prod.alive():
                    break
                if log_lines(clog, "demo.duplicate_apply"):
                    break   # it would never catch up: fail now, not in minutes
                time.sleep(0.25)
            check(cursor == TOTAL,
                  "consumer reached cursor %d within %d s of the last kill (at %d)"
                  % (TOTAL, FINAL_WAIT_S, cursor))
            check(cons.alive() and prod.alive(), "both processes still running")
        finally:
            crc = cons.stop()
            prc = prod.stop()
        check(crc == 0, "consumer exits cleanly on SIGTERM (status %s)" % crc)
        check(prc == 0, "producer exits cleanly on SIGTERM (status %s)" % prc)

        p = prod.dump()
        c = cons.dump()
        note("producer: %s" % p)
        note("consumer: %s" % c)
        check(p.get("count") == TOTAL and p.get("bad") == 0,
              "producer outbox holds 1..%d" % TOTAL)
        check(c.get("cursor") == TOTAL, "consumer cursor == %d" % TOTAL)
        check(c.get("count") == TOTAL, "consumer applied %d events" % TOTAL)
        check(c.get("gaps") == 0, "no gaps in 1..cursor")
        check(c.get("first") == 1 and c.get("last") == TOTAL,
              "first == 1 and last == %d" % TOTAL)
        check(c.get("sum") is not None and c.get("sum") == p.get("sum"),
              "sum of applied values == producer's sum (%s)" % p.get("sum"))
        check(c.get("total") == c.get("sum") and c.get("total_count") == TOTAL,
              "running total kept with the cursor agrees")
        dups = log_lines(clog, "demo.duplicate_apply")
        bad = log_lines(clog, "demo.bad_event")
        for l in (dups + bad)[:5]:
            note(l)
        check(not dups, "no duplicate-apply error logged")
        check(not bad, "no bad event logged")
        mid = [k for k in consumer_kills if 0 < k < TOTAL]
        check(len(consumer_kills) >= 3 and len(mid) == len(consumer_kills),
              "consumer SIGKILLed %d times mid-stream (cursors %s)"
              % (len(consumer_kills), consumer_kills))
        pmid = [k for k in producer_kills if 0 < k < TOTAL]
        check(len(producer_kills) >= 1 and len(pmid) == len(producer_kills),
              "producer SIGKILLed %d times mid-stream (outbox %s)"
              % (len(producer_kills), producer_kills))
        check(cons.starts == len(consumer_kills) + 1 and prod.starts == len(producer_kills) + 1,
              "each killed process was restarted")
        subs = log_lines(clog, "feed.subscribe")
        note("consumer subscribed %d times; producer log has %d forget lines"
             % (len(subs), len(log_lines(plog, "feed.forget"))))
        if n_failed:
            for path in (clog, plog):
                note("--- last lines of %s" % os.path.basename(path))
                with open(path, errors="replace") as f:
                    for l in f.readlines()[-15:]:
                        note(l.rstrip())

    print("1..%d" % n_checks, flush=True)
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
