"""bench/study/mutation.py — what the mutation-audit scripts (page_mutants.py, monitor_mutants.py,
report_mutants.py) share: a command run in its own process group, so that on a hang the whole group is
killed (node and the test process or Chromium it started; a mutant's endless loop would otherwise spin on
after the audit)."""
import os, signal, subprocess


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
