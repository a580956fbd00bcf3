#!/usr/bin/python3
# bench/rss_phases.py OUT RUN_DIR COMMAND…: runs COMMAND (a `train … --out RUN_DIR --analyze-every 1`),
# samples its VmRSS (/proc/PID/status) every 0.1 s and places each sample in a phase of an epoch by the
# files of RUN_DIR that exist at that moment (epoch e = the first epoch whose tract.json is missing):
#   training  until checkpoints/epoch_e.ckpt exists (the epoch's steps and its test evaluation)
#   imaging   until analysis/epoch_e/tract.json exists (checkpoint and state writes, the evaluation
#             pass, the grid, ζ and tract stages).  Since 2026-12-03 (d12e651) an analysis writes its
#             stage files together once every stage has run, so the files no longer split the imaging
#             into pass / zeta / tract (branch mem13e's figures were taken when they did); to place a
#             peak inside the imaging, use bench/rss_trace.py (its log lines carry the time and RSS).
# Writes OUT: the highest sample of each phase of each epoch (MB = MiB), then that of the samples after the
# last epoch's imaging (the final writes; before 2026-12-05 shown as the training of one epoch more), the child's ru_maxrss,
# user and sys CPU and wall.  Used for bench/README.md, branch mem13e.
import os, re, resource, subprocess, sys, time

out, run_dir, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
phases = ['training', 'imaging']
t0 = time.time()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = {}  # (epoch, phase) → highest VmRSS sample (kB)
epoch = 1


def phase_of(e):
    a = f'{run_dir}/analysis/epoch_{e:03d}/'
    if not os.path.exists(f'{run_dir}/checkpoints/epoch_{e:03d}.ckpt'): return 'training'
    if not os.path.exists(a + 'tract.json'): return 'imaging'
    return None


while p.poll() is None:
    try:
        rss = int(re.search(r'VmRSS:\s+(\d+)', open(f'/proc/{p.pid}/status').read()).group(1))
    except Exception:
        break
    ph = phase_of(epoch)
    while ph is None:
        epoch += 1
        ph = phase_of(epoch)
    peak[(epoch, ph)] = max(peak.get((epoch, ph), 0), rss)
    time.sleep(0.1)
p.wait()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
# samples after the last epoch's tract.json (model.ckpt, the final writes) would count as the training of
# an epoch that never ran: its checkpoint does not exist, so they get their own line
tail = None
last = max((e for e, _ in peak), default=0)
if last and not os.path.exists(f'{run_dir}/checkpoints/epoch_{last:03d}.ckpt'):
    tail = peak.pop((last, 'training'), None)
with open(out, 'w') as o:
    epochs = sorted({e for e, _ in peak})
    o.write('phase ' + ' '.join(f'{e:>6d}' for e in epochs) + '\n')
    for ph in phases:
        o.write(f'{ph:8s}' + ' '.join(f'{peak[(e, ph)] / 1024:6.1f}' if (e, ph) in peak else '     -' for e in epochs) + '\n')
    if tail is not None:
        o.write(f'after the last epoch\'s imaging: {tail / 1024:.1f}\n')
    o.write(f'exit {p.returncode}; maxrss {ru.ru_maxrss / 1024:.1f} MB, user {ru.ru_utime:.1f} s, sys {ru.ru_stime:.1f} s, '
            f'wall {time.time() - t0:.1f} s\n')
print(open(out).read())
