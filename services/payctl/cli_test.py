#!/usr/bin/env python3
"""cli_test: runs the real payctl binary and prints TAP.

Proves: --help at the top level and for subcommands (exit 0, usage on
stdout); keys new (both files, .key mode 0600, no silent overwrite); keys
grant (the allow-list line, a re-grant replaces the key's entry, the same
grant twice changes nothing, scopes checked against the role, bad role
refused); keys revoke (by file or key, comments kept, not listed: exit 1);
unknown commands exit 2, and none is left unimplemented; config precedence
as `payctl config` reports it.

usage: cli_test.py PATH/TO/payctl
"""
import os
import stat
import subprocess
import sys
import tempfile

PAYCTL = sys.argv[1] if len(sys.argv) > 1 else "payctl"
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond and detail:
        for line in str(detail).splitlines():
            print("#   " + line)
    sys.stdout.flush()


def run(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("PAY")}
    e["HOME"] = HOME
    if env:
        e.update(env)
    p = subprocess.run([PAYCTL] + list(args), capture_output=True, text=True, env=e,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    HOME = os.path.join(tmp, "home")
    os.mkdir(HOME)

    # ---- help at every level
    rc, out, err = run("--help")
    ok(rc == 0, "payctl --help exits 0", err)
    ok(out.startswith("usage: payctl COMMAND"), "top-level usage on stdout", out[:200])
    for word in ("keys", "import", "hours", "week", "wages", "invoices", "reconcile",
                 "status", "backup"):
        ok(("\n  %s " % word) in out, "top-level help lists %s" % word, out)
    ok("--format table|csv|json" in out, "top-level help names --format")

    rc, out, err = run()
    ok(rc == 2 and "usage: payctl" in err, "no command: usage on stderr, exit 2", (rc, err))

    rc, out, err = run("keys", "--help")
    ok(rc == 0 and "usage: payctl keys COMMAND" in out and "grant" in out,
       "payctl keys --help lists its commands", (rc, out, err))

    rc, out, err = run("keys", "grant", "--help")
    ok(rc == 0 and out.startswith("usage: payctl keys grant PUBFILE --role ROLE")
       and "--allow-file FILE" in out,
       "payctl keys grant --help shows usage and options", (rc, out, err))

    rc, out, err = run("help")
    ok(rc == 0 and out.startswith("usage: payctl"), "payctl help", (rc, err))

    rc, out, err = run("wages", "payroll", "--help")
    ok(rc == 0 and "usage: payctl wages payroll --prison P --week W" in out,
       "help of a wages command", (rc, out, err))

    # ---- unknown and not-implemented commands
    rc, out, err = run("frobnicate")
    ok(rc == 2 and 'unknown command "frobnicate"' in err, "unknown command: exit 2", (rc, err))
    rc, out, err = run("hours", "fly")
    ok(rc == 2 and 'hours: unknown command "fly"' in err, "unknown subcommand: exit 2",
       (rc, err))
    # Every command in the table is implemented now: none says otherwise.
    for words in (["wages"], ["wages", "rates"], ["invoices"], ["payments"], []):
        rc, out, err = run(*(words + ["--help"]))
        ok(rc == 0 and "not implemented" not in out,
           "payctl %s --help: no command left unimplemented" % " ".join(words), out)

    # ---- keys new
    keys = os.path.join(tmp, "keys")
    rc, out, err = run("keys", "new", "alice", "--dir", keys)
    key, pub = os.path.join(keys, "alice.key"), os.path.join(keys, "alice.pub")
    ok(rc == 0, "keys new exits 0", err)
    ok(os.path.isfile(key) and os.path.isfile(pub), "alice.key and alice.pub exist")
    mode = stat.S_IMODE(os.stat(key).st_mode) if os.path.exists(key) else -1
    ok(mode == 0o600, "alice.key is mode 0600", oct(mode))
    pub_text = open(pub).read() if os.path.exists(pub) else ""
    key_text = open(key).read() if os.path.exists(key) else ""
    ok(pub_text.startswith("public=") and len(pub_text.strip()) == len("public=") + 40,
       "pub file holds a 40-character public key", pub_text)
    ok("secret=" in key_text and "secret=" not in pub_text, "secret only in the .key")
    public = pub_text.strip()[len("public="):]
    ok(public in out, "keys new prints the public key", out)

    rc, out, err = run("keys", "new", "alice", "--dir", keys)
    ok(rc != 0 and "exists" in err and open(key).read() == key_text,
       "keys new refuses to overwrite a key", (rc, err))
    rc, out, err = run("keys", "new", "alice", "--dir", keys, "--force")
    ok(rc == 0 and open(key).read() != key_text, "keys new --force replaces it", (rc, err))
    public = open(pub).read().strip()[len("public="):]

    rc, out, err = run("keys", "new", "../evil", "--dir", keys)
    ok(rc == 2, "a key name with a slash is refused", (rc, err))

    rc, out, err = run("keys", "new", "bob", env={"PAY_KEYS_DIR": keys})
    ok(rc == 0 and os.path.isfile(os.path.join(keys, "bob.key")),
       "keys new defaults to PAY_KEYS_DIR", (rc, err))

    rc, out, err = run("keys", "new")
    ok(rc == 2 and "missing argument" in err, "keys new without NAME: exit 2", (rc, err))

    # ---- keys grant
    allow = os.path.join(tmp, "allow.txt")
    rc, out, err = run("keys", "grant", pub, "--role", "instructor", "--scope", "MDI",
                       "--name", "mdi-workshop", "--allow-file", allow)
    ok(rc == 0, "keys grant instructor MDI exits 0", err)
    lines = open(allow).read().splitlines() if os.path.exists(allow) else []
    ok(lines == ["%s instructor MDI mdi-workshop" % public],
       "allow-list line added", lines)

    # Granting a listed key again replaces its entry (never a second line).
    rc, out, err = run("keys", "grant", pub, "--role", "finance", "--scope", "-",
                       "--name", "finance-team", "--allow-file", allow)
    lines = open(allow).read().splitlines()
    ok(rc == 0 and lines == ["%s finance - finance-team" % public],
       "a second grant of the same key replaces its entry", (rc, err, lines))

    rc, out, err = run("keys", "grant", pub, "--role", "employer", "--scope", "dhl",
                       "--name", "dhl-ap", "--allow-file", allow)
    lines = open(allow).read().splitlines()
    ok(rc == 0 and lines == ["%s employer dhl dhl-ap" % public],
       "employer scoped to an employer id, in place of the finance entry", (rc, err, lines))

    st = os.stat(allow)
    rc, out, err = run("keys", "grant", pub, "--role", "employer", "--scope", "dhl",
                       "--name", "dhl-ap", "--allow-file", allow)
    st2 = os.stat(allow)
    ok(rc == 0 and open(allow).read().splitlines() == lines
       and (st.st_ino, st.st_mtime_ns) == (st2.st_ino, st2.st_mtime_ns),
       "the identical grant again changes nothing", (rc, err))

    # Comments, other keys and a listed key's position are kept.
    rc, out, err = run("keys", "new", "carol", "--dir", keys)
    cpub = os.path.join(keys, "carol.pub")
    carol = open(cpub).read().strip()[len("public="):] if os.path.exists(cpub) else ""
    with open(allow, "w") as f:
        f.write("# payroll allow-list\n%s employer dhl dhl-ap\n%s finance - carol\n"
                % (public, carol))
    rc, out, err = run("keys", "grant", pub, "--role", "instructor", "--scope", "MDI",
                       "--name", "mdi-workshop", "--allow-file", allow)
    ok(rc == 0 and open(allow).read() == "# payroll allow-list\n"
       "%s instructor MDI mdi-workshop\n%s finance - carol\n" % (public, carol)
       and not os.path.exists(allow + ".tmp"),
       "a re-grant keeps comments and other lines, and no temporary file", open(allow).read())
    ok("SIGHUP" in out, "grant says how running services apply it", out)

    # ---- keys revoke
    rc, out, err = run("keys", "revoke", "--help")
    ok(rc == 0 and out.startswith("usage: payctl keys revoke PUBFILE|PUBKEY")
       and "restart" in out, "payctl keys revoke --help: usage, and says restart", (rc, out))
    rc, out, err = run("keys", "revoke", pub, "--allow-file", allow)
    ok(rc == 0 and open(allow).read() == "# payroll allow-list\n%s finance - carol\n" % carol
       and "restart" in out, "revoke by .pub file removes the entry only", (rc, out, err))
    rc, out, err = run("keys", "revoke", pub, "--allow-file", allow)
    ok(rc == 1 and "not in" in err, "revoking a key that is not listed: exit 1", (rc, err))
    rc, out, err = run("keys", "revoke", carol, "--allow-file", allow)
    ok(rc == 0 and open(allow).read() == "# payroll allow-list\n",
       "revoke by the public key itself", (rc, out, err))
    rc, out, err = run("keys", "revoke", "not-a-key", "--allow-file", allow)
    ok(rc == 2, "revoke of neither a file nor a key: exit 2", (rc, err))
    with open(allow, "a") as f:
        f.write("%s wizard - x\n" % public)
    before = open(allow).read()
    rc, out, err = run("keys", "revoke", public, "--allow-file", allow)
    ok(rc == 1 and "malformed" in err and open(allow).read() == before,
       "revoke refuses a malformed allow-list and leaves it alone", (rc, err))
    rc, out, err = run("keys", "grant", pub, "--role", "finance", "--scope", "-",
                       "--name", "x", "--allow-file", allow)
    ok(rc == 1 and "malformed" in err and open(allow).read() == before,
       "so does grant", (rc, err))
    with open(allow, "w") as f:
        f.write("%s employer dhl dhl-ap\n" % public)

    rc, out, err = run("keys", "grant", pub, "--role", "employer", "--scope", "dhl",
                       "--name", "dhl-ap", env={"PAY_KEYS_DIR": keys})
    ok(rc == 0 and os.path.isfile(os.path.join(keys, "allow.txt")),
       "grant defaults to <keys-dir>/allow.txt", (rc, err))

    before = open(allow).read()
    bad = [
        (["--role", "admin", "--scope", "-", "--name", "x"], "unknown role"),
        (["--role", "Finance", "--scope", "-", "--name", "x"], "unknown role"),
        (["--role", "instructor", "--scope", "mdi", "--name", "x"], "prison code"),
        (["--role", "governor", "--scope", "-", "--name", "x"], "prison code"),
        (["--role", "employer", "--scope", "DHL", "--name", "x"], "employer id"),
        (["--role", "finance", "--scope", "MDI", "--name", "x"], "scope is \"-\""),
        (["--role", "service", "--scope", "MDI", "--name", "x"], "scope is \"-\""),
        (["--role", "finance", "--scope", "-", "--name", "two words"], "--name"),
        (["--role", "finance", "--scope", "-"], "required"),
    ]
    for args, want in bad:
        rc, out, err = run("keys", "grant", pub, *args, "--allow-file", allow)
        ok(rc != 0 and want in err, "grant %s refused (%s)" % (" ".join(args), want), (rc, err))
    ok(open(allow).read() == before, "refused grants leave the allow-list untouched")

    rc, out, err = run("keys", "grant", os.path.join(tmp, "nope.pub"), "--role", "finance",
                       "--scope", "-", "--name", "x", "--allow-file", allow)
    ok(rc == 1 and "cannot read" in err, "missing pub file: exit 1", (rc, err))

    # ---- config precedence through the binary
    conf = os.path.join(tmp, "payctl.conf")
    with open(conf, "w") as f:
        f.write("hours-endpoint = tcp://file:1\nwages-endpoint = tcp://file:2\n")
    rc, out, err = run("config", "--format", "csv", "--wages-endpoint", "tcp://flag:2",
                       env={"PAYCTL_CONFIG": conf, "PAY_INVOICING_ENDPOINT": "tcp://env:3"})
    rows = dict((l.split(",")[0], l.split(",")[1:]) for l in out.splitlines()[1:] if l)
    ok(rc == 0 and rows.get("hours-endpoint") == ["tcp://file:1", "config file"]
       and rows.get("wages-endpoint") == ["tcp://flag:2", "flag"]
       and rows.get("invoicing-endpoint") == ["tcp://env:3", "environment"],
       "config: flag > environment > file > default, as CSV", (rc, out, err))
    rc, out, err = run("config", "--format", "json")
    ok(rc == 0 and out.startswith("[\n  {\"setting\": \"hours-endpoint\""),
       "config as JSON", (rc, out))
    rc, out, err = run("config", "--format", "yaml")
    ok(rc == 2 and "use table, csv or json" in err, "bad --format refused", (rc, err))

print("1..%d" % n)
sys.exit(1 if failed else 0)
