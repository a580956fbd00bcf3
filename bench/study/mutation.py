"""bench/study/mutation.py — what the mutation-audit scripts (page_mutants.py, monitor_mutants.py,
report_mutants.py) share: a command run in its own process group, so that on a hang the whole group is
killed (node and the test process or Chromium it started; a mutant's endless loop would otherwise spin on
after the audit), and the loop over the mutants with its lines and counts."""
import concurrent.futures, os, signal, subprocess


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
