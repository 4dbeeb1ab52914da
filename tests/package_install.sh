#!/bin/bash
# Runs inside the scratch root of tests/package_test.py: a chroot over an
# overlay of the host's root filesystem (the host is not changed), in its own
# mount, PID and network namespaces (so nothing started here outlives it, and
# the services' default ports are this namespace's own). The packages are in
# /tmp/debs. Prints "CHECK 0|1 what" for each check and "NOTE text" lines.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
check() {  # check WHAT CMD...: CHECK 0 when CMD succeeds, with its output on failure
  local what=$1 rc; shift
  "$@" >/tmp/check.out 2>&1; rc=$?   # in this shell: `wait` needs that
  echo "CHECK $rc $what"
  if [ $rc -ne 0 ]; then tail -20 /tmp/check.out | sed 's/^/NOTE   /'; fi
  return $rc
}
note() { echo "NOTE $*"; }

ip link set lo up

check "dpkg -i of every package" dpkg -i /tmp/debs/*.deb
check "the system user pay exists" getent passwd pay
keys=/etc/prison-payroll/keys
modes() {
  [ "$(stat -c '%U:%G %a' $keys)" = "root:pay 750" ] || return 1
  for s in hours wages invoicing; do
    [ "$(stat -c '%U:%G %a' $keys/$s.key)" = "root:pay 640" ] || return 1
    [ -f $keys/$s.pub ] && grep -q " service - $s\$" $keys/allow.txt || return 1
  done
  stat -c '%n %U:%G %a' $keys $keys/*
}
check "each service made its key pair (root:pay 0640) and allow-listed it as service" modes
check "the example configuration is in /etc/prison-payroll" \
  test -f /etc/prison-payroll/README -a -f /etc/prison-payroll/hours.env \
       -a -f /etc/prison-payroll/wages.env -a -f /etc/prison-payroll/invoicing.env
units=(/lib/systemd/system/pay-hours.service /lib/systemd/system/pay-wages.service
       /lib/systemd/system/pay-invoicing.service)
check "systemd-analyze verify of the three units" systemd-analyze verify "${units[@]}"
for u in "${units[@]}"; do
  level=$(systemd-analyze security --offline=yes "$u" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \(.*\)/\1 \2/p')
  note "systemd-analyze security --offline: $(basename "$u"): exposure $level"
  check "$(basename "$u"): exposure below 2.5 (${level%% *})" \
    awk -v l="${level%% *}" 'BEGIN { exit !(l != "" && l + 0 < 2.5) }'
done
for p in /usr/share/man/man1/payctl.1.gz /usr/share/man/man1/pay-keygen.1.gz \
         /usr/share/man/man8/pay-hours.8.gz /usr/share/man/man8/pay-wages.8.gz \
         /usr/share/man/man8/pay-invoicing.8.gz; do
  name=$(basename "$p" | cut -d. -f1)
  rendered() { man -l -P cat "$p" | tee /tmp/man.txt | grep -q "^NAME" && grep -q "$name - " /tmp/man.txt \
               && ! man -l -P cat "$p" 2>&1 >/dev/null | grep -q .; }
  check "man -l renders $(basename "$p") (NAME, no warnings)" rendered
done
check "the installed payctl --help runs and lists health" sh -c '/usr/bin/payctl --help | grep -q "^  health "'
complete_words() {  # complete_words WORDS...: what _payctl offers after them
  bash -c 'source /usr/share/bash-completion/bash_completion
           source /usr/share/bash-completion/completions/payctl
           COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           _payctl; echo "${COMPREPLY[*]}"' _ "$@"
}
export -f complete_words
check "bash completion: payctl wa -> wages" bash -c '[ "$(complete_words payctl wa)" = wages ]'
check "bash completion: payctl wages pay -> payroll payslip" \
  bash -c '[ "$(complete_words payctl wages pay)" = "payroll payslip" ]'
check "bash completion: payctl --format j -> json" \
  bash -c '[ "$(complete_words payctl --format j)" = json ]'

# The services as their units run them (user pay, the units' environment and
# .env files, StateDirectory made as systemd makes it), on the default ports.
pids=()
for s in hours wages invoicing; do
  install -d -o pay -g pay -m 0700 /var/lib/prison-payroll/$s
  install -d -o pay -g pay -m 0700 /var/lib/prison-payroll/backups
  (set -a; . /etc/prison-payroll/$s.env; set +a
   exec setpriv --reuid=pay --regid=pay --init-groups env PAY_DATA_DIR=/var/lib/prison-payroll \
     PAY_KEYS_DIR=$keys /usr/bin/pay-$s) 2>/tmp/$s.log &
  pids+=($!)
done
up() {  # payctl health, as pay with the service's own key (the probe's way)
  for _ in $(seq 1 50); do
    setpriv --reuid=pay --regid=pay --init-groups env HOME=/var/lib/prison-payroll \
      PAY_KEYS_DIR=$keys /usr/bin/payctl health "$1" && return 0
    sleep 0.2
  done
  tail -5 /tmp/$1.log; return 1
}
for s in hours wages invoicing; do
  check "pay-$s runs as pay; payctl health $s (the service's own key) answers" up $s
done
# The README's steps for a person's key.
person() {
  mkdir -p /root/payroll-keys &&
  payctl keys new finance --dir /root/payroll-keys &&
  payctl keys grant /root/payroll-keys/finance.pub --role finance --scope - \
    --name jsmith-finance --allow-file $keys/allow.txt &&
  kill -HUP "${pids[@]}" && sleep 1 &&
  cp $keys/*.pub /root/payroll-keys/ &&
  payctl --keys-dir /root/payroll-keys --key-file /root/payroll-keys/finance.key status
}
check "README: a finance key granted, SIGHUP, payctl status shows all three up" person
backup() {  # a NAME; each service copies to <data-dir>/backups/NAME/<service>
  local d=/var/lib/prison-payroll/backups/check
  payctl --keys-dir /root/payroll-keys --key-file /root/payroll-keys/finance.key backup check &&
  for s in hours wages invoicing; do mdb_stat -e $d/$s >/dev/null || return 1; done
}
check "README: payctl backup under /var/lib/prison-payroll/backups" backup
check "the stores record their format" sh -c 'for s in hours wages invoicing; do
  mdb_dump -p -s meta /var/lib/prison-payroll/$s | grep -qx " format_version" || exit 1; done'
stop() {
  kill -TERM "${pids[@]}"
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}
check "SIGTERM: the three services exit 0" stop
check "dpkg --purge of every package" dpkg --purge pay-hours pay-wages pay-invoicing payctl pay-keygen \
  prison-payroll-common
check "the stores and keys are kept after --purge" \
  test -f /var/lib/prison-payroll/hours/data.mdb -a -f $keys/hours.key
exit 0
