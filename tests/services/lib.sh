# Shared by the service scripts.
# wait_tcp PORT LOG: waits up to 30 s for a listener on 127.0.0.1:PORT.
wait_tcp() {
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on port $1: $(cat "$2" 2>/dev/null)" >&2
  return 1
}
