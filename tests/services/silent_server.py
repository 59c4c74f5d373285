#!/usr/bin/env python3
"""A TCP server that accepts connections and never answers (issue 15.13):
the peer every network wait must survive. usage: silent_server.py PORT"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
