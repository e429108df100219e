# Sourced by the hack/*.sh build scripts: the check that keeps a warm run
# from building anything.

# reports_version LINE CMD...: whether CMD prints a line matching LINE (an
# extended regular expression, matched against the whole line). CMD's output
# is captured whole before it is matched. Piped straight into `grep -q` under
# pipefail, the check failed whenever grep exited at its first match while CMD
# was still writing: CMD died of SIGPIPE (status 141), the pipeline failed,
# and the script rebuilt a binary that was current (etcd writes its version
# in four writes, so it lost that race now and then).
reports_version() {
  local line=$1 output
  shift
  output=$("$@" 2>/dev/null) || return 1
  grep -qxE -- "$line" <<<"$output"
}
