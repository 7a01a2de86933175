//! Userspace ESP data plane: TUN, UDP sockets, lookup tables, workers (the only unsafe code).
