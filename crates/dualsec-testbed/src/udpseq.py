#!/usr/bin/env python3
"""Sequence-numbered UDP stream for outage measurement (dualsec-testbed).

send DST PORT COUNT INTERVAL_MS SIZE   -> prints {"sent": n}
recv BIND PORT IDLE_EXIT_S MAX_S GAP_MS -> prints "ready", "receiving" at the first packet,
                                           then a JSON report on exit
"""
import json, socket, struct, sys, time

HDR = struct.Struct("!Q")
# Linux value (asm-generic); older Pythons lack the constant.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)

def send(dst, port, count, interval_ms, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = b"\0" * max(0, size - HDR.size)
    start = time.monotonic()
    sent = 0
    for seq in range(count):
        due = start + seq * interval_ms / 1000.0
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            s.sendto(HDR.pack(seq) + pad, (dst, port))
            sent += 1
        except OSError:
            pass  # no route during an outage: the packet is lost, keep the schedule
    print(json.dumps({"sent": sent}), flush=True)

def recv(bind, port, idle_exit, max_s, gap_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    # Kernel receive timestamps: gaps are measured at arrival, not when this loop gets the CPU.
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(0.05)
    print("ready", flush=True)
    start = time.monotonic()
    seen = set()
    last_t = None
    last_wall = None
    last_seq = None
    dup = reordered = 0
    max_seq = -1
    gaps = []
    max_gap = 0.0
    while True:
        now = time.monotonic()
        if now - start > max_s or (last_wall is not None and now - last_wall > idle_exit):
            break
        try:
            data, anc, _, _ = s.recvmsg(65535, 64)
        except socket.timeout:
            continue
        last_wall = time.monotonic()
        t = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                sec, nsec = struct.unpack("qq", payload[:16])
                t = sec + nsec / 1e9
        if t is None:
            t = time.time()
        if len(data) < HDR.size:
            continue
        (seq,) = HDR.unpack_from(data)
        if seq in seen:
            dup += 1
            continue
        if not seen:
            print("receiving", flush=True)
        seen.add(seq)
        if seq < max_seq:
            reordered += 1
        max_seq = max(max_seq, seq)
        if last_t is not None:
            g = (t - last_t) * 1000.0
            max_gap = max(max_gap, g)
            if g >= gap_ms:
                gaps.append({"after_seq": last_seq, "next_seq": seq, "ms": round(g, 3)})
        last_t, last_seq = t, seq
    report = {
        "received": len(seen),
        "max_seq": max_seq,
        "lost": (max_seq + 1 - len(seen)) if max_seq >= 0 else 0,
        "duplicates": dup,
        "reordered": reordered,
        "max_gap_ms": round(max_gap, 3),
        "gaps": gaps,
    }
    print(json.dumps(report), flush=True)

if __name__ == "__main__":
    a = sys.argv
    if a[1] == "send":
        send(a[2], int(a[3]), int(a[4]), float(a[5]), int(a[6]))
    else:
        recv(a[2], int(a[3]), float(a[4]), float(a[5]), float(a[6]))
