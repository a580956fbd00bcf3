"""bench/study/mutation.py — what the mutation-audit scripts (page_mutants.py, monitor_mutants.py,
report_mutants.py, serve_page_mutants.py) share: a command run in its own process group, so that on a hang
the whole group is killed (node and the test process or Chromium it started; a mutant's endless loop would
otherwise spin on after the audit), the loop over the mutants with its lines and counts, and the audit of a
page script embedded in build/nnfmri."""
import concurrent.futures, os, re, shutil, signal, subprocess, threading


def run(cmd, timeout, cwd=None):
    """(exit status, stdout and stderr together) of cmd, or (None, "") when it ran past timeout seconds."""
    p = subprocess.Popen(cmd, cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, ""


def audit(name, mutants, orig, try_one, only=(), jobs=1):
    """The audit's loop over mutants (id, old text, new text), those named in `only` (all when empty): a
    mutant whose old text occurs exactly once in orig is handed to try_one(id, mutated text), which returns
    (killed, the failures seen) or None when it could not be built.  jobs mutants at a time (try_one then
    guards what they share); one line per mutant in the list's order, then the counts."""
    def one(m):
        mid, old, new = m
        if orig.count(old) != 1:
            return mid, "not applied: the text occurs %d times" % orig.count(old), None
        result = try_one(mid, orig.replace(old, new))
        if result is None:
            return mid, "not built", None
        dead, fails = result
        return mid, ("KILLED by " if dead else "SURVIVED ") + " | ".join(f[:90] for f in fails), dead

    killed = survived = 0
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for mid, text, dead in pool.map(one, [m for m in mutants if not only or m[0] in only]):
            print(mid, text, flush=True)
            if dead is not None:
                killed += dead
                survived += not dead
    print("%s: %d killed, %d survived" % (name, killed, survived))


def embedded_page_audit(name, js, mutants, test, timeout, argv):
    """The audit of js, a page script embedded in build/nnfmri (report/page.cpp's .incbin), against the browser
    test `test` (its command without --nnfmri and --out).  Each mutant is written into the tree, build/nnfmri
    relinked under a lock, copied to build/mutants/ID/ and js restored (also on an error or Ctrl-C) before the
    next is written; then the test runs on that binary (a hang counts as killed after timeout seconds).
    argv: [--jobs N] [ID ...]; two mutants at a time by default, since the test mostly waits on Chromium."""
    jobs = 2
    if argv[:1] == ["--jobs"]:
        jobs, argv = int(argv[1]), argv[2:]
    orig = open(js, encoding="utf-8").read()
    make = ["nice", "-n", "10", "make", "-j2", "build/nnfmri"]
    lock = threading.Lock()

    def try_one(mid, text):
        out_dir = os.path.join("build", "mutants", mid)
        os.makedirs(out_dir, exist_ok=True)
        binary = os.path.join(out_dir, "nnfmri")
        with lock:
            try:
                open(js, "w", encoding="utf-8").write(text)
                rc, _ = run(make, 600)
                if rc == 0:
                    shutil.copy2("build/nnfmri", binary)
            finally:
                open(js, "w", encoding="utf-8").write(orig)
        if rc != 0:
            return None
        rc, out = run(["nice", "-n", "10"] + test + ["--nnfmri", binary, "--out", out_dir], timeout)
        fails = re.findall(r"^  FAIL (.*?)(?:  \(|$)", out, re.M) if rc is not None else ["a hang (%d s)" % timeout]
        if rc not in (0, None) and not fails:
            fails = ["(no check failed: " + out.strip().splitlines()[-1][:80] + ")"] if out.strip() else ["(no output)"]
        return rc != 0, fails

    try:
        audit(name, mutants, orig, try_one, set(argv), jobs)
    finally:
        open(js, "w", encoding="utf-8").write(orig)
        run(make, 600)
