#!/usr/bin/python3
# bench/rss_trace.py OUT COMMAND…: runs COMMAND, samples its RSS (/proc/PID/status) every 0.2 s and keeps
# /proc/PID/smaps at each new peak; writes OUT.log (its output) and OUT.rss: the peak, its split by
# mapping ([heap], [anon], each library) and the timeline (s, MB).  Each output line in OUT.log is prefixed
# with the seconds since the start and the RSS then ("[  12.3s  81.9 MB] …"), so a stage's peak can be named
# from its progress lines.  COMMAND must be the program itself (not /usr/bin/time PROGRAM: that would trace
# `time`); the last VmHWM read (the kernel's exact peak, which 0.2 s samples can miss) is printed too, and the
# child's ru_maxrss and CPU time once it has exited.  Used for bench/README.md, issue 13.
import subprocess, sys, time, re, collections, threading, resource
out = sys.argv[1]; cmd = sys.argv[2:]
log = open(out + '.log', 'w')
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
hwm = 0; peak = 0; peak_smaps = ''; t0 = time.time(); timeline = []; current = [0]; peak_t = 0.0

def copy_output():
    buf = b''
    for chunk in iter(lambda: p.stdout.read1(4096), b''):
        buf += chunk
        parts = re.split(rb'[\r\n]', buf)
        buf = parts.pop()
        for line in parts:
            if line.strip():
                log.write(f'[{time.time() - t0:7.1f}s {current[0]/1024:6.1f} MB] {line.decode(errors="replace")}\n')
    if buf.strip(): log.write(f'[{time.time() - t0:7.1f}s {current[0]/1024:6.1f} MB] {buf.decode(errors="replace")}\n')

reader = threading.Thread(target=copy_output); reader.start()
while p.poll() is None:
    try:
        st = open(f'/proc/{p.pid}/status').read()
        rss = int(re.search(r'VmRSS:\s+(\d+)', st).group(1)); current[0] = rss
        hwm = int(re.search(r'VmHWM:\s+(\d+)', st).group(1))
        if rss > peak:
            peak = rss; peak_smaps = open(f'/proc/{p.pid}/smaps').read(); peak_t = time.time() - t0
        timeline.append((time.time() - t0, rss))
    except Exception:
        pass
    time.sleep(0.2)
reader.join(); log.close()
kinds = collections.Counter()
name = None
for line in peak_smaps.splitlines():
    f = line.split()
    if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
        name = f[5] if len(f) > 5 else '[anon]'
        if name.startswith('/'): name = 'file:' + name.split('/')[-1]
    elif f[0] == 'Rss:':
        kinds[name] += int(f[1])
with open(out + '.rss', 'w') as o:
    o.write(f'peak VmRSS {peak/1024:.1f} MB at t={peak_t:.1f}s (last VmHWM read {hwm/1024:.1f} MB), exit {p.returncode}\n')
    # the reaped child's own figures (getrusage of the children: COMMAND is the only one): its exact
    # peak RSS (ru_maxrss, as /usr/bin/time's %M) and its CPU time
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    o.write(f'child: maxrss {ru.ru_maxrss/1024:.1f} MB, user {ru.ru_utime:.1f} s, sys {ru.ru_stime:.1f} s, wall {time.time() - t0:.1f} s\n')
    for k, v in kinds.most_common(25): o.write(f'  {v/1024:8.1f} MB  {k}\n')
    o.write('timeline (s, MB):\n')
    step = max(1, len(timeline) // 60)
    for t, r in timeline[::step]: o.write(f'  {t:7.1f} {r/1024:7.1f}\n')
print(open(out + '.rss').read()[:3000])
